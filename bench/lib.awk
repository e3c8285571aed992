# bench/lib.awk: awk functions the bench reports share (the companion of
# bench/lib.sh), for mawk and gawk alike:
#   awk -f "$srcdir/bench/lib.awk" -f PROGRAM FILE...

# median(arr, n[, none]): the median of the numbers arr[1..n] (the mean of the
# middle two when n is even), or none when n is 0. arr is left as it is.
function median(arr, n, none,   i, j, t, a) {
	if (n == 0)
		return none
	for (i = 1; i <= n; i++)
		a[i] = arr[i]
	for (i = 2; i <= n; i++) {
		t = a[i]
		for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--)
			a[j + 1] = a[j]
		a[j + 1] = t
	}
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
