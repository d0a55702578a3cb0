#!/usr/bin/env bash
# OrganicScreen bootstrap: installs what is missing, builds the RDKit shim and the solution,
# then runs the Cake DAG with the given arguments, e.g. ./build.sh --target Screen --dataset ocelot
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# libtorch and OpenMP busy-wait by default; with two pools on a 2-core machine that is 30x slower.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
CONFIGURATION="${CONFIGURATION:-Release}"
# cpu (TorchSharp-cpu, default), cuda (TorchSharp-cuda-linux) or external (no bundled libtorch: use a
# PyTorch install's torch/lib through --libtorch DIR / ORGANICSCREEN_LIBTORCH).
TORCH_BACKEND="${TORCH_BACKEND:-cpu}"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# --- prerequisites -------------------------------------------------------------------------
if ! command -v dotnet >/dev/null 2>&1; then
  echo "error: the .NET 10 SDK is required (https://dotnet.microsoft.com/download); 'dotnet' is not on PATH." >&2
  exit 1
fi
missing=()
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
[ -f /usr/include/rdkit/GraphMol/ROMol.h ] || missing+=(librdkit-dev)
[ -f /usr/include/boost/version.hpp ] || missing+=(libboost-dev)
# Tests compare against RDKit's own Python bindings (an independent oracle).
python3 -c "import rdkit" >/dev/null 2>&1 || missing+=(python3-rdkit)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${missing[*]} (apt)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "error: missing native prerequisites: ${missing[*]}" >&2
    echo "run:   sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

# --- tools, native shim, solution ------------------------------------------------------------
say "restoring the local Cake tool"
dotnet tool restore >/dev/null

say "building the RDKit shim (cmake)"
cmake -S stages/OrganicScreen.Chem/native -B artifacts/native/build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build artifacts/native/build -j"$(nproc)" >/dev/null

say "building the solution ($CONFIGURATION, torch backend $TORCH_BACKEND)"
dotnet build OrganicScreen.sln -c "$CONFIGURATION" -p:TorchBackend="$TORCH_BACKEND" -nologo -clp:ErrorsOnly -v:q

# --- the DAG -----------------------------------------------------------------------------------
exec dotnet tool run dotnet-cake build/build.cake --settings_enablescriptcache=true --configuration="$CONFIGURATION" "$@"
