#!/usr/bin/env bash
# Runs the whole test suite: a normal build and an ASan+UBSan build, each with
# every ctest test (unit, script and slow end-to-end ones; the sanitizer build
# leaves out the two guest migrations labelled plain-only).
# Usage: scripts/test.sh [ctest args...]   e.g. scripts/test.sh -L unit
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs" "$@")
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DOSMIG_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
# The sanitizer pass leaves out what is labelled plain-only: guest
# migrations whose time is the emulated guest's, not osmig's (tests/vm).
(cd build-asan && ctest --output-on-failure -j"$jobs" -LE plain-only "$@")
