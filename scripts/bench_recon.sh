#!/usr/bin/env bash
# Batch-reconstruction benchmark: `dps recon` against scripts/bench_recon.py (h5py + numpy), the
# same zero-filled reconstruction, on generated fastMRI-like multi-coil files.
#
# Generates the files in a temporary folder, which is deleted on exit. For each file count it
# then runs each tool REPEATS times with the same number of threads, interleaving the tools.
# It prints a Markdown summary with the median wall-clock time, slices per second, their ratio,
# and the maximum resident set size of each run from /usr/bin/time. Before timing, it checks
# that both tools write the same reconstructions.
#
# Settings (environment variables, defaults in brackets):
#   BENCH_FILES ["2 4 8"] file counts; the largest sets how many files are generated
#   BENCH_SLICES [8]     slices per file
#   BENCH_COILS [15], BENCH_HEIGHT [640], BENCH_WIDTH [368]   k-space size per slice
#   BENCH_THREADS [2]    `dps recon --jobs`, and the size of the Python process pool
#   BENCH_REPEATS [3]    timed runs per tool and file count, after one untimed warm-up per tool
#   DPS_PYTHON           Python with numpy and h5py (default: the one scripts/setup.sh installs)
#
# Disk use: files x slices x coils x H x W x 8 bytes, 1.8 GB with the defaults.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

python=${DPS_PYTHON:-$HOME/.cache/dps/libtorch-2.13.0/bin/python}
counts=${BENCH_FILES:-"2 4 8"}
slices=${BENCH_SLICES:-8}
coils=${BENCH_COILS:-15}
height=${BENCH_HEIGHT:-640}
width=${BENCH_WIDTH:-368}
threads=${BENCH_THREADS:-2}
repeats=${BENCH_REPEATS:-3}

if [ ! -x "$python" ]; then
    echo "Python with numpy and h5py not found at $python; run scripts/setup.sh or set" \
        "DPS_PYTHON" >&2
    exit 1
fi
if [ ! -x /usr/bin/time ]; then
    echo "/usr/bin/time not found; install Debian's \`time\` package" >&2
    exit 1
fi

echo "[bench] building dps (release, without libtorch)" >&2
cargo build --quiet --release --no-default-features
dps=$repo/target/release/dps

work=$(mktemp -d "${TMPDIR:-/tmp}/dps-bench-recon.XXXXXX")
trap 'rm -rf "$work"' EXIT

largest=$(printf '%s\n' $counts | sort -n | tail -1)
echo "[bench] generating $largest files of $slices x $coils x $height x $width in $work" >&2
"$python" scripts/bench_recon.py generate "$work/files" --files "$largest" --slices "$slices" \
    --coils "$coils" --height "$height" --width "$width"

# One input folder per file count, holding links to the first N files.
for count in $counts; do
    mkdir "$work/in_$count"
    for file in $(ls "$work/files" | sort | head -n "$count"); do
        ln -s "$work/files/$file" "$work/in_$count/$file"
    done
done

cat > "$work/zero_filled.yaml" <<'EOF'
stages:
  - stage: load
    path: input
    # The Python script reads no target either.
    target: none
  - stage: mask
    type: equispaced
    center_fractions: [0.08]
    accelerations: [4]
  - stage: zero_filled
  - stage: write
    output: output
    png: false
EOF

# Sets `command` to the command line of TOOL (dps or numpy) from INPUT to OUTPUT.
set_command() { # TOOL INPUT OUTPUT
    case $1 in
        dps) command=("$dps" --quiet recon --pipeline "$work/zero_filled.yaml" --input "$2" \
            --output "$3" --jobs "$threads" --overwrite) ;;
        numpy) command=(env OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
            "$python" scripts/bench_recon.py recon "$2" "$3" --workers "$threads") ;;
    esac
}

# Runs TOOL once on COUNT files and appends "tool files slices run seconds cpu_seconds
# max_rss_kb" to results.tsv. CPU time (user plus system, child processes included) shows the
# work done even when other jobs on the machine stretch the wall-clock time.
measure() { # TOOL COUNT RUN
    local tool=$1 count=$2 run=$3 output=$work/out_$1
    rm -rf "$output"
    set_command "$tool" "$work/in_$count" "$output"
    local start end
    start=$(date +%s.%N)
    /usr/bin/time -v -o "$work/time.txt" "${command[@]}" > "$work/$tool.log" 2>&1 \
        || { cat "$work/$tool.log" >&2; exit 1; }
    end=$(date +%s.%N)
    local rss cpu
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
    cpu=$(awk -F': ' '/User time|System time/ {sum += $2} END {print sum}' "$work/time.txt")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$count" "$((count * slices))" "$run" \
        "$(awk "BEGIN {print $end - $start}")" "$cpu" "$rss" >> "$work/results.tsv"
}

smallest=$(printf '%s\n' $counts | sort -n | head -1)
echo "[bench] warm-up and output check on $smallest files" >&2
for tool in dps numpy; do
    set_command "$tool" "$work/in_$smallest" "$work/check_$tool"
    "${command[@]}" > "$work/$tool.log" 2>&1 || { cat "$work/$tool.log" >&2; exit 1; }
done
"$python" scripts/bench_recon.py compare "$work/check_numpy" "$work/check_dps" \
    > "$work/compare.json"
cat "$work/compare.json" >&2

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for run in $(seq 1 "$repeats"); do
    for count in $counts; do
        echo "[bench] run $run of $repeats, $count files" >&2
        measure dps "$count" "$run"
        measure numpy "$count" "$run"
    done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

"$python" - "$work/results.tsv" "$work/compare.json" <<EOF
import json, statistics, sys
rows = [line.split("\t") for line in open(sys.argv[1]).read().splitlines()]
compare = json.load(open(sys.argv[2]))
runs = {}
for tool, files, slices, run, seconds, cpu, rss in rows:
    runs.setdefault((tool, int(files), int(slices)), []).append(
        (float(seconds), float(cpu), int(rss)))

print("Machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores," +
      " $(free -g | awk '/^Mem:/ {print $2}') GiB memory; load average before" +
      " $load_before, after $load_after.")
print("Settings: $largest files max, $slices slices of $coils x $height x $width complex64" +
      " per file, $threads threads, $repeats runs per cell (median shown).")
print(f"Outputs of dps and numpy differ by at most {compare['max_relative_difference']:.1e}"
      " of the largest value.")
print()
print("| files | slices | dps s | dps slices/s | numpy s | numpy slices/s | speed-up of dps"
      " | dps CPU ms/slice | numpy CPU ms/slice | dps max RSS MiB"
      " | numpy max RSS MiB (largest process) |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
def medians(values):
    return [statistics.median(v[i] for v in values) for i in range(3)]
for (tool, files, slices), values in sorted(runs.items(), key=lambda item: item[0][1]):
    if tool != "dps":
        continue
    dps_s, dps_cpu, dps_rss = medians(values)
    np_s, np_cpu, np_rss = medians(runs[("numpy", files, slices)])
    print(f"| {files} | {slices} | {dps_s:.2f} | {slices / dps_s:.1f} | {np_s:.2f} |"
          f" {slices / np_s:.1f} | {np_s / dps_s:.2f} | {1000 * dps_cpu / slices:.0f} |"
          f" {1000 * np_cpu / slices:.0f} | {dps_rss / 1024:.0f} | {np_rss / 1024:.0f} |")
print()
print("Every run (tool, files, wall-clock s, CPU s, max RSS MiB):")
for tool, files, slices, run, seconds, cpu, rss in rows:
    print(f"    {tool:<5} {files:>2} files  {float(seconds):6.2f} s  {float(cpu):6.2f} s"
          f"  {int(rss) / 1024:5.0f} MiB")
EOF
