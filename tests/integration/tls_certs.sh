# tls_certs.sh: test certificates for the TLS tests, made at test time with
# the openssl command line tool (no key is ever committed). Sourced after
# lib.sh; `tls_certs DIR` writes, with EC P-256 keys:
#   ca.pem ca.key             test CA
#   server.pem server.key     CN=localhost, SAN DNS:localhost, IP:127.0.0.1, signed by ca
#   server2.pem server2.key   another server certificate (reload tests), signed by ca
#   client.pem client.key     CN=echod-test-client, clientAuth, signed by ca
#   other-ca.pem other-ca.key an unrelated CA
#   rogue.pem rogue.key       CN=echod-rogue-client, signed by other-ca
# and sets TLS_SUBJ_CLIENT to the client's subject as echod logs it.

TLS_SUBJ_CLIENT='CN=echod-test-client,O=echod tests'
# Server certificates name a CRL, as issued ones do (scanners rate a
# certificate without CRL or OCSP as a finding). Nothing ever fetches it.
TLS_CRL_DP='crlDistributionPoints=URI:http://127.0.0.1/echod-test-ca.crl'

# tls_key FILE: a new EC P-256 private key.
tls_key()
{
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
}

# tls_ca DIR NAME CN: a self-signed CA, DIR/NAME.pem and DIR/NAME.key.
tls_ca()
{
	tls_key "$1/$2.key" || return 1
	openssl req -x509 -new -key "$1/$2.key" -out "$1/$2.pem" -days 365 -subj "/CN=$3" \
	    -addext basicConstraints=critical,CA:TRUE \
	    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}

# tls_leaf DIR NAME SUBJECT CA EXT...: a certificate signed by DIR/CA.
tls_leaf()
{
	local d="$1" n="$2" subj="$3" ca="$4" ext

	shift 4
	tls_key "$d/$n.key" || return 1
	openssl req -new -key "$d/$n.key" -out "$d/$n.csr" -subj "$subj" 2>/dev/null || return 1
	: >"$d/$n.ext"
	for ext in "$@"; do
		echo "$ext" >>"$d/$n.ext"
	done
	openssl x509 -req -in "$d/$n.csr" -CA "$d/$ca.pem" -CAkey "$d/$ca.key" \
	    -CAcreateserial -out "$d/$n.pem" -days 365 -extfile "$d/$n.ext" 2>/dev/null
}

# tls_self_signed_until DIR NAME ENDDATE [STARTDATE]: a self-signed
# CN=localhost certificate DIR/NAME.pem (key DIR/NAME.key) valid from now (or
# STARTDATE) until ENDDATE, dates as YYYYMMDDHHMMSSZ, to the second:
# `openssl req -days` counts whole days only.
tls_self_signed_until()
{
	local d="$1" n="$2"

	tls_key "$d/$n.key" || return 1
	openssl req -new -key "$d/$n.key" -out "$d/$n.csr" -subj "/CN=localhost" 2>/dev/null ||
	    return 1
	mkdir -p "$d/$n.ca" || return 1
	: >"$d/$n.ca/index.txt"
	cat >"$d/$n.ca/ca.cnf" <<CNF
[ca]
default_ca = local
[local]
database = $d/$n.ca/index.txt
new_certs_dir = $d/$n.ca
rand_serial = yes
default_md = sha256
policy = any
unique_subject = no
[any]
commonName = supplied
CNF
	openssl ca -batch -config "$d/$n.ca/ca.cnf" -selfsign -keyfile "$d/$n.key" \
	    -in "$d/$n.csr" -out "$d/$n.pem" -notext -enddate "$3" ${4:+-startdate "$4"} \
	    >/dev/null 2>&1
}

tls_certs()
{
	local d="$1"

	mkdir -p "$d" || return 1
	have_cmd openssl || skip "openssl command line tool not installed"
	tls_ca "$d" ca "echod test CA" &&
	tls_ca "$d" other-ca "echod other CA" &&
	tls_leaf "$d" server "/CN=localhost" ca "subjectAltName=DNS:localhost,IP:127.0.0.1" \
	    "extendedKeyUsage=serverAuth" "$TLS_CRL_DP" &&
	tls_leaf "$d" server2 "/CN=localhost/O=second" ca \
	    "subjectAltName=DNS:localhost,IP:127.0.0.1" "extendedKeyUsage=serverAuth" \
	    "$TLS_CRL_DP" &&
	tls_leaf "$d" client "/O=echod tests/CN=echod-test-client" ca \
	    "extendedKeyUsage=clientAuth" &&
	tls_leaf "$d" rogue "/CN=echod-rogue-client" other-ca "extendedKeyUsage=clientAuth" ||
	    fail "cannot make the test certificates with openssl"
}

# tls_fingerprint FILE: SHA-256 fingerprint of a PEM certificate.
tls_fingerprint()
{
	openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//'
}

# tls_peer_fingerprint PORT [S_CLIENT ARGS]: fingerprint of the certificate
# the server on 127.0.0.1:PORT presents.
tls_peer_fingerprint()
{
	local p=$1

	shift
	timeout 10 openssl s_client -connect "127.0.0.1:$p" "$@" </dev/null 2>/dev/null |
	    openssl x509 -noout -fingerprint -sha256 2>/dev/null | sed 's/.*=//'
}
