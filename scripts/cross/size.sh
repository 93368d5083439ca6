#!/bin/sh
# Prints a table of the cross-built binaries in $OUT (default dist/): raw
# and gzip-compressed size. Fails when the mips binary is over the budget of
# DESIGN §8 (10 MiB), and warns above the 8 MiB goal.
set -eu

here=$(dirname "$0")
root=$(cd "$here/../.." && pwd)
out=${OUT:-$root/dist}
budget=$((10 * 1024 * 1024))
goal=$((8 * 1024 * 1024))

printf '%-8s %12s %12s\n' target raw gzip
status=0
targets=$(grep -v '^#' "$here/targets.txt" | awk '{print $1}')
for target in $targets; do
	bin=$out/qpc-$target
	if [ ! -f "$bin" ]; then
		echo "size: $bin is missing; run make cross first" >&2
		exit 1
	fi
	raw=$(wc -c <"$bin")
	gz=$(gzip -9 -c "$bin" | wc -c)
	printf '%-8s %12d %12d\n' "$target" "$raw" "$gz"
	if [ "$target" = mips ]; then
		if [ "$raw" -gt "$budget" ]; then
			echo "size: mips binary is $raw bytes, over the budget of $budget (DESIGN §8)" >&2
			status=1
		elif [ "$raw" -gt "$goal" ]; then
			echo "size: mips binary is $raw bytes, within budget but over the goal of $goal" >&2
		fi
	fi
done
exit $status
