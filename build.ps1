#!/usr/bin/env pwsh
# OrganicScreen bootstrap for PowerShell 7: same steps as build.sh.
# Usage: ./build.ps1 --target Screen --dataset ocelot
$ErrorActionPreference = 'Stop'
$Root = $PSScriptRoot
Set-Location $Root

$env:DOTNET_CLI_TELEMETRY_OPTOUT = '1'; $env:DOTNET_NOLOGO = '1'; $env:DOTNET_SKIP_FIRST_TIME_EXPERIENCE = '1'
if (-not $env:OMP_WAIT_POLICY) { $env:OMP_WAIT_POLICY = 'PASSIVE' }
$Configuration = if ($env:CONFIGURATION) { $env:CONFIGURATION } else { 'Release' }
$TorchBackend = if ($env:TORCH_BACKEND) { $env:TORCH_BACKEND } else { 'cpu' }

function Say($text) { Write-Host "==> $text" -ForegroundColor Cyan }

if (-not (Get-Command dotnet -ErrorAction SilentlyContinue)) {
    throw 'The .NET 10 SDK is required; dotnet is not on PATH.'
}
if (-not $IsLinux) {
    throw 'OrganicScreen builds its RDKit shim against Debian''s librdkit-dev: run it on Linux (Debian 12) or WSL.'
}
$missing = @()
if (-not (Get-Command cmake -ErrorAction SilentlyContinue)) { $missing += 'cmake' }
if (-not (Get-Command g++ -ErrorAction SilentlyContinue)) { $missing += 'g++' }
if (-not (Test-Path /usr/include/rdkit/GraphMol/ROMol.h)) { $missing += 'librdkit-dev' }
if (-not (Test-Path /usr/include/boost/version.hpp)) { $missing += 'libboost-dev' }
# Tests compare against RDKit's own Python bindings (an independent oracle).
python3 -c 'import rdkit' 2>$null
if ($LASTEXITCODE -ne 0) { $missing += 'python3-rdkit' }
if ($missing.Count -gt 0) {
    if ((id -u) -eq '0' -and (Get-Command apt-get -ErrorAction SilentlyContinue)) {
        Say "installing $($missing -join ' ') (apt)"
        apt-get update -qq
        $env:DEBIAN_FRONTEND = 'noninteractive'
        apt-get install -y -qq --no-install-recommends @missing | Out-Null
        if ($LASTEXITCODE -ne 0) { throw 'apt-get install failed' }
    } else {
        Write-Error "missing native prerequisites: $($missing -join ' ')`nrun:   sudo apt-get update && sudo apt-get install -y $($missing -join ' ')"
        exit 1
    }
}

function Run([string]$exe, [string[]]$arguments) {
    & $exe @arguments
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
}

Say 'restoring the local Cake tool'
Run dotnet @('tool', 'restore')
Say 'building the RDKit shim (cmake)'
Run cmake @('-S', 'stages/OrganicScreen.Chem/native', '-B', 'artifacts/native/build', '-DCMAKE_BUILD_TYPE=Release')
Run cmake @('--build', 'artifacts/native/build', "-j$([Environment]::ProcessorCount)")
Say "building the solution ($Configuration, torch backend $TorchBackend)"
Run dotnet @('build', 'OrganicScreen.sln', '-c', $Configuration, "-p:TorchBackend=$TorchBackend", '-nologo', '-clp:ErrorsOnly', '-v:q')
Run dotnet (@('tool', 'run', 'dotnet-cake', 'build/build.cake', '--settings_enablescriptcache=true', "--configuration=$Configuration") + $args)
