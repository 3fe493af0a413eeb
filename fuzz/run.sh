#!/usr/bin/env bash
# Fuzz one target with AFL for a bounded time, or replay every committed input without AFL.
#   fuzz/run.sh TARGET SECONDS    build, instrument, afl-fuzz on fuzz/corpus/TARGET for SECONDS; exit 1 if it crashed
#   fuzz/run.sh replay [TARGET]   run fuzz/corpus/TARGET and fuzz/regressions/TARGET through the target (no AFL)
# FUZZ_EXECS=N also stops the campaign after about N executions (whichever of the two comes first).
# Targets: vhost-user ring block boot. Findings go to $FUZZ_WORK (default /tmp/lguest-fuzz-$USER/TARGET).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
targets="vhost-user ring block boot"
usage() { echo "usage: $0 TARGET SECONDS | $0 replay [TARGET]   (targets: $targets)" >&2; exit 2; }
[ $# -ge 1 ] || usage

out="$here/Lguest.Fuzz/bin/Release/net10.0"
# FUZZ_NO_BUILD=1 reuses the last Release build (two targets started at once must not build the same output twice).
build() { [ -n "${FUZZ_NO_BUILD:-}" ] || dotnet build "$here/Lguest.Fuzz" -c Release -v quiet -nologo >&2; }

if [ "$1" = replay ]; then
    build
    status=0
    for t in ${2:-$targets}; do
        dotnet "$out/Lguest.Fuzz.dll" replay "$t" "$here/corpus/$t" "$here/regressions/$t" || status=1
    done
    exit $status
fi

[ $# -eq 2 ] || usage
target="$1"; seconds="$2"
case " $targets " in *" $target "*) ;; *) usage ;; esac
case "$seconds" in ''|*[!0-9]*) usage ;; esac
command -v afl-fuzz >/dev/null || { echo "afl-fuzz not found: apt-get install afl++" >&2; exit 2; }

tools="${SHARPFUZZ_TOOLS:-$HOME/.dotnet/sharpfuzz-tools}"
if [ ! -x "$tools/sharpfuzz" ]; then
    dotnet tool install --tool-path "$tools" SharpFuzz.CommandLine --version 2.3.0 >&2
fi

work="${FUZZ_WORK:-/tmp/lguest-fuzz-$(id -un)}/$target"
rm -rf "$work"; mkdir -p "$work"
# Instrument a private copy so the Release output (used by replay and the tests) stays plain.
build
cp -r "$out" "$work/bin"
for assembly in Lguest.Native.dll Lguest.Actors.dll; do
    "$tools/sharpfuzz" "$work/bin/$assembly" >&2
done

# .NET is not an AFL-instrumented binary and starts slowly; the forkserver lives in SharpFuzz.
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1
# An unbounded allocation becomes an OutOfMemoryException, that is a crash, instead of swapping the machine.
export DOTNET_TieredPGO=0 DOTNET_GCHeapHardLimit=0x20000000
# Now and then (once in six starts on the loaded build machine) AFL's dry run sees an empty coverage map and aborts
# with "No instrumentation detected" before fuzzing; a fresh start gets past it.
for attempt in 1 2 3; do
    rm -rf "$work/findings"
    set +e
    timeout --signal=INT $((seconds + 30)) afl-fuzz -V "$seconds" ${FUZZ_EXECS:+-E "$FUZZ_EXECS"} -i "$here/corpus/$target" -o "$work/findings" \
        -t 5000 -m none -- dotnet "$work/bin/Lguest.Fuzz.dll" "$target" > "$work/afl.log" 2>&1
    rc=$?
    set -e
    grep -q "No instrumentation detected" "$work/afl.log" || break
    echo "afl-fuzz saw no instrumentation on start $attempt; starting again" >&2
done
stats="$work/findings/default/fuzzer_stats"
if [ ! -f "$stats" ]; then
    echo "afl-fuzz did not start (exit $rc); see $work/afl.log:" >&2
    tail -20 "$work/afl.log" >&2
    exit 2
fi
field() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$stats"; }
crashes="$(field saved_crashes)"; crashes="${crashes:-$(field unique_crashes)}"
hangs="$(field saved_hangs)"; hangs="${hangs:-$(field unique_hangs)}"
echo "$target: $(field execs_done) executions in $(( $(field last_update) - $(field start_time) )) s ($(field execs_per_sec) exec/s), corpus $(field corpus_count), crashes $crashes, hangs $hangs"
echo "findings: $work/findings/default (crashes/ and hangs/: copy an input to fuzz/regressions/$target/ to keep it)"
[ "${crashes:-0}" = 0 ] || exit 1
