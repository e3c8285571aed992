#!/usr/bin/env bash
# Set up a Debian 12 machine, build echod, and run it or its tests.
#
#   scripts/dev.sh run    install build dependencies, build, run echod in the
#                         foreground with conf/echod.ini (Ctrl-C stops it)
#   scripts/dev.sh test   install build and test dependencies, build, and run
#                         the whole test suite: the normal build's `make check`
#                         and `make distcheck`, then the ASan+UBSan build's
#                         tests and the TSan build's tests of the threaded
#                         parts (all with -Werror), a 60 s soak in the
#                         ASan+UBSan build (tests/soak/README.md), then the
#                         libFuzzer build's `make fuzz-check` (clang, build-fuzz/)
#   scripts/dev.sh deps   only install the packages
#
# Needs root (or sudo) for apt-get; set ECHOD_NO_APT=1 to skip installing.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc 2>/dev/null || echo 2)

BUILD_PKGS="build-essential autoconf automake libtool pkg-config libevent-dev libssl-dev
  libinih-dev libsystemd-dev"
TEST_PKGS="check netcat-openbsd socat openssl testssl.sh systemd procps iproute2 python3 util-linux
  gawk perl curl haproxy gnuplot-nox"
# The fuzzing build (configure --enable-fuzz): clang and its libFuzzer runtime.
FUZZ_PKGS="clang libclang-rt-14-dev"

dev_deps() {
	[ "${ECHOD_NO_APT:-0}" = 1 ] && return 0
	local sudo=""
	[ "$(id -u)" -ne 0 ] && sudo="sudo"
	local missing=()
	for p in $BUILD_PKGS ${1:-}; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "== installing: ${missing[*]}"
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
}

# promtool validates the metrics exposition in the tests. Installing the
# prometheus package would also start a Prometheus server, so only its
# promtool binary is unpacked, into build-tools/ (ignored by git).
dev_promtool() {
	command -v promtool >/dev/null 2>&1 && return 0
	local dir="$top/build-tools"
	if [ ! -x "$dir/usr/bin/promtool" ] && [ "${ECHOD_NO_APT:-0}" != 1 ]; then
		mkdir -p "$dir/deb"
		(cd "$dir/deb" && { apt-get download prometheus >/dev/null 2>&1 ||
			{ apt-get update -qq && apt-get download prometheus >/dev/null 2>&1; }; } &&
			dpkg-deb -x prometheus_*.deb "$dir" && rm -f prometheus_*.deb) ||
			echo "== promtool unavailable: the metrics test will not validate the format"
	fi
	[ -x "$dir/usr/bin/promtool" ] && export PATH="$dir/usr/bin:$PATH"
	return 0
}

# dev_build DIR CONFIGURE-ARGS...
dev_build() {
	local dir=$1; shift
	[ -x configure ] && [ configure -nt configure.ac ] && [ Makefile.in -nt Makefile.am ] || autoreconf -fi
	mkdir -p "$dir"
	(cd "$dir" && "$top/configure" "$@" >configure.out && make -j"$jobs")
}

# dev_check DIR NAME [TEST...]: make check in DIR, every test or the ones named.
# What distcheck runs in the unpacked tarball (see "test" below).
DIST_TESTS="tests/unit/check_config tests/unit/check_stats tests/unit/layers.sh
  tests/integration/config_sample.sh tests/integration/sd_units.sh tests/integration/service_echo.sh
  tests/integration/tls_echo.sh"

# The TSan build runs the threaded parts: every unit suite (the pool, the log
# thread, the loop's cross-thread checks) and the integration tests where the
# worker pool, the log thread or signals meet the loop.
dev_tsan_tests() {
	(cd "$top" && ls tests/unit/check_*.c tests/integration/command_*.sh \
		tests/integration/log_*.sh tests/integration/debug_*.sh \
		tests/integration/shutdown_signals.sh tests/integration/reload_sighup.sh \
		tests/integration/admin_console.sh tests/integration/metrics_prometheus.sh) |
		sed 's/\.c$//'
}

dev_check() {
	local dir=$1 name=$2
	shift 2
	local only=()
	[ $# -gt 0 ] && only=("TESTS=$*")
	echo "== $name: make check${1:+ (${#} tests)}"
	if ! (cd "$dir" && make -j"$jobs" check "${only[@]}"); then
		echo "== $name: FAILED; logs:" >&2
		find "$dir/tests" -name '*.log' -newer "$dir/configure.out" -print0 2>/dev/null |
			xargs -0 grep -l -E '^(FAIL|ERROR)|:F:|:E:' 2>/dev/null | while read -r f; do
				echo "---- $f" >&2; tail -n 60 "$f" >&2; done
		return 1
	fi
}

case "${1:-}" in
deps)
	dev_deps "$TEST_PKGS $FUZZ_PKGS"
	;;
run)
	dev_deps
	dev_build build --enable-werror
	echo "== running build/src/echod -f -c conf/echod.ini (Ctrl-C to stop)"
	exec build/src/echod -f -c conf/echod.ini
	;;
test)
	dev_deps "$TEST_PKGS $FUZZ_PKGS"
	dev_promtool
	start=$(date +%s)
	dev_build build --enable-werror
	dev_check build "normal build"
	# The tarball builds, installs and finds its own files: the tests that
	# read the docs, the sample config and the units (the normal build above
	# ran every test already).
	echo "== normal build: make distcheck"
	(cd build && make -j"$jobs" distcheck DISTCHECK_CONFIGURE_FLAGS=--enable-werror \
		TESTS="$(echo $DIST_TESTS)" >distcheck.out 2>&1) ||
		{ tail -n 80 build/distcheck.out >&2; exit 1; }
	dev_build build-asan --enable-werror --enable-asan --enable-debug
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		dev_check build-asan "ASan+UBSan build"
	echo "== ASan+UBSan build: 60 s soak (ledger and picture in build-asan/tests/soak/)"
	(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 make soak-check SOAK_SECONDS=60)
	dev_build build-tsan --enable-werror --enable-tsan --enable-debug
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 dev_check build-tsan "TSan build" \
		$(dev_tsan_tests)
	dev_build build-fuzz --enable-werror --enable-fuzz CC=clang
	echo "== libFuzzer build: make fuzz-check"
	(cd build-fuzz && make fuzz-check) ||
		{ echo "== libFuzzer build: FAILED; logs in build-fuzz/fuzz-out/logs/" >&2; exit 1; }
	echo "== all test suites passed in $(( $(date +%s) - start ))s"
	;;
*)
	sed -n '2,13p' "$0"
	exit 64
	;;
esac
