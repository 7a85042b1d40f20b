# bench/lib.sh: what the migration benchmarks share (sourced, not run).

# median N...: the middle value (the lower middle of an even count).
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# overhead_table WIDTH OSMIG_LABEL FLOOR_LABEL O_WALL O_CPU F_WALL F_CPU SNAP:
# osmig against the floor it is judged by, the goal's percentage last.
overhead_table() {
  local w=$1
  printf "%-${w}s %9s %9s\n" "" "wall s" "CPU s"
  printf "%-${w}s %9s %9s\n" "$2" "$4" "$5"
  printf "%-${w}s %9s %9s\n" "$3" "$6" "$7"
  awk -v w="$w" -v o="$4" -v oc="$5" -v r="$6" -v rc="$7" 'BEGIN {
    printf "%-" w "s %8.1f%% %8.1f%%   (goal <= 15%%)\n", "osmig overhead over the floor", (o / r - 1) * 100, (oc / rc - 1) * 100 }'
  printf "%-${w}s %9s\n" "osmig snapshot of the root (separate)" "$8"
}
