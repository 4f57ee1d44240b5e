<#
.SYNOPSIS
  gw installer for Windows: the same contract as installer/install.sh.

.DESCRIPTION
  Puts gw.exe and gw-admin.exe in <Prefix>\bin (no administrator rights; default
  %LOCALAPPDATA%\Programs\gw), adds that directory to the user's PATH, links claude-db.exe to
  gw.exe (the Claude Code IDE extensions' process wrapper), writes a config through
  `gw config init` when there is none, checks it with `gw doctor`, and adds a `claude-db`
  function and gw's completions to the PowerShell profile (CurrentUserAllHosts) inside one
  marked block. Idempotent: a second run changes no byte of the profile. -Uninstall removes all
  of it and puts the profile back byte for byte (deleting it when the installer created it).

  Exit codes: 0 done; 1 failure; 2 usage error or invalid config answers.

.EXAMPLE
  powershell -ExecutionPolicy Bypass -File installer\install.ps1 -From gw-windows-x86_64.zip -Host https://adb-1.azuredatabricks.net -TenantId <guid> -ClientId <app id> -Model databricks-claude-sonnet-4-5

.EXAMPLE
  powershell -ExecutionPolicy Bypass -File installer\install.ps1 -Uninstall -Purge
#>
[CmdletBinding()]
param(
  # A directory (or its bin\, or one subdirectory) or a .zip holding gw.exe and gw-admin.exe.
  # Without it: the binaries next to this script (a release archive), else `cargo build`.
  [string]$From,
  [string]$Prefix = (Join-Path $env:LOCALAPPDATA 'Programs\gw'),
  [Alias('Host')][string]$DatabricksHost,
  [string]$TenantId,
  [string]$Issuer,
  [string]$ClientId,
  [string]$Model,
  [switch]$NonInteractive,
  # Leave the PowerShell profile and the user's PATH alone.
  [switch]$NoProfile,
  [switch]$Uninstall,
  # With -Uninstall: also sign out of every profile and remove the config and gw's state.
  [switch]$Purge
)

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

# gw's error style: one `error:` line, one `hint:` line, an exit code.
function Fail([int]$Code, [string]$Message, [string]$Hint) {
  [Console]::Error.WriteLine("error: $Message")
  if ($Hint) { [Console]::Error.WriteLine("hint: $Hint") }
  exit $Code
}
function Say([string]$Text) { Write-Host $Text }

$Bin = Join-Path $Prefix 'bin'
$Exes = @('gw.exe', 'gw-admin.exe')
$BlockStart = '# >>> gw (installer/install.ps1) >>>'
$BlockEnd = '# <<< gw (installer/install.ps1) <<<'
$ProfilePath = $PROFILE.CurrentUserAllHosts
# What the installer must remember (the profile as it was), beside the binaries: not in gw's
# state directory, which -Purge deletes first.
$StateDir = Join-Path $Prefix 'installer'
$ProfileBackup = Join-Path $StateDir 'profile.before-gw'
$ProfileAbsent = Join-Path $StateDir 'profile.was-absent'
$Completions = Join-Path $Prefix 'gw-completions.ps1'
$Utf8 = New-Object System.Text.UTF8Encoding($false)

if ($Purge -and -not $Uninstall) { Fail 2 '-Purge needs -Uninstall' 'installer\install.ps1 -Uninstall -Purge' }
if ($Issuer -and $TenantId) { Fail 2 '-Issuer and -TenantId are two kinds of identity provider' 'give one of them' }

# ------------------------------------------------------------- profile --

# The profile's bytes, or $null when it does not exist.
function Read-Bytes([string]$Path) {
  if (Test-Path -LiteralPath $Path -PathType Leaf) { return [System.IO.File]::ReadAllBytes($Path) }
  return $null
}

function Write-Atomic([string]$Path, [byte[]]$Bytes) {
  $dir = Split-Path -Parent $Path
  if (-not (Test-Path -LiteralPath $dir)) { New-Item -ItemType Directory -Force -Path $dir | Out-Null }
  $tmp = "$Path.gw-new"
  [System.IO.File]::WriteAllBytes($tmp, $Bytes)
  Move-Item -LiteralPath $tmp -Destination $Path -Force
}

# The profile text without gw's block (and the line break the installer put before it).
function Remove-Block([string]$Text) {
  $pattern = '(\r?\n)?' + [regex]::Escape($BlockStart) + '[\s\S]*?' + [regex]::Escape($BlockEnd) + '\r?\n?'
  return [regex]::Replace($Text, $pattern, '')
}

function Block-Text {
  $nl = "`r`n"
  return $BlockStart + $nl +
    "function claude-db { & '$((Join-Path $Bin 'gw.exe').Replace("'", "''"))' claude @args }" + $nl +
    "if (Test-Path -LiteralPath '$($Completions.Replace("'", "''"))') { . '$($Completions.Replace("'", "''"))' }" + $nl +
    $BlockEnd + $nl
}

function Install-Profile {
  $before = Read-Bytes $ProfilePath
  $text = if ($null -eq $before) { '' } else { $Utf8.GetString($before) }
  $without = Remove-Block $text
  $sep = if ($without.Length -gt 0 -and -not $without.EndsWith("`n")) { "`r`n" } else { '' }
  $wanted = $without + $sep + (Block-Text)
  if ($wanted -eq $text) { Say "  unchanged: the claude-db function in $ProfilePath"; return }
  New-Item -ItemType Directory -Force -Path $StateDir | Out-Null
  if (-not (Test-Path -LiteralPath $ProfileBackup) -and -not (Test-Path -LiteralPath $ProfileAbsent)) {
    # The first time only: what uninstalling must give back.
    if ($null -eq $before) { [System.IO.File]::WriteAllBytes($ProfileAbsent, [byte[]]@()) }
    else { [System.IO.File]::WriteAllBytes($ProfileBackup, $before) }
  }
  Write-Atomic $ProfilePath $Utf8.GetBytes($wanted)
  Say "  added the claude-db function and completions to $ProfilePath"
}

function Uninstall-Profile {
  $now = Read-Bytes $ProfilePath
  if ($null -ne $now) {
    $text = $Utf8.GetString($now)
    $without = Remove-Block $text
    $backup = Read-Bytes $ProfileBackup
    if ($null -ne $backup -and $without -eq (Remove-Block $Utf8.GetString($backup))) {
      # Untouched since: give back the very bytes (encoding, BOM and line breaks included).
      Write-Atomic $ProfilePath $backup
    } elseif ((Test-Path -LiteralPath $ProfileAbsent) -and $without.Length -eq 0) {
      Remove-Item -LiteralPath $ProfilePath -Force
    } elseif ($without -ne $text) {
      Write-Atomic $ProfilePath $Utf8.GetBytes($without)
    }
    if ($without -ne $text) { Say "  removed the claude-db function from $ProfilePath" }
  }
  Remove-Item -LiteralPath $ProfileBackup, $ProfileAbsent -Force -ErrorAction SilentlyContinue
}

# ---------------------------------------------------------------- PATH --

function User-Path { [Environment]::GetEnvironmentVariable('Path', 'User') }

function Add-ToPath {
  $parts = @((User-Path) -split ';' | Where-Object { $_ })
  if ($parts -contains $Bin) { return }
  [Environment]::SetEnvironmentVariable('Path', (($parts + $Bin) -join ';'), 'User')
  $env:Path = "$env:Path;$Bin"
  Say "  added $Bin to your user PATH (new terminals see it)"
}

function Remove-FromPath {
  $parts = @((User-Path) -split ';' | Where-Object { $_ })
  if (-not ($parts -contains $Bin)) { return }
  [Environment]::SetEnvironmentVariable('Path', (($parts | Where-Object { $_ -ne $Bin }) -join ';'), 'User')
  Say "  removed $Bin from your user PATH"
}

# ------------------------------------------------------------ binaries --

function Find-Bins([string]$Dir) {
  $candidates = @($Dir, (Join-Path $Dir 'bin')) + @(Get-ChildItem -LiteralPath $Dir -Directory -ErrorAction SilentlyContinue | ForEach-Object { $_.FullName; Join-Path $_.FullName 'bin' })
  foreach ($d in $candidates) {
    if ((Test-Path -LiteralPath (Join-Path $d 'gw.exe')) -and (Test-Path -LiteralPath (Join-Path $d 'gw-admin.exe'))) { return $d }
  }
  foreach ($d in $candidates) {
    if (Test-Path -LiteralPath (Join-Path $d 'gw') -PathType Leaf) {
      Fail 1 "$From holds binaries for Linux or macOS (gw, not gw.exe)" 'download the Windows archive (gw-*-windows-*.zip)'
    }
  }
  Fail 1 "no gw.exe and gw-admin.exe in $Dir" 'pass -From with a directory or .zip holding both'
}

function Get-Bins {
  if ($From) {
    if (Test-Path -LiteralPath $From -PathType Container) { return Find-Bins (Resolve-Path -LiteralPath $From).Path }
    if (-not (Test-Path -LiteralPath $From -PathType Leaf)) { Fail 1 "-From ${From}: no such file or directory" 'pass a directory or a .zip holding gw.exe and gw-admin.exe' }
    if ($From -notmatch '\.zip$') { Fail 2 "-From ${From}: not a directory or a .zip" 'pass a directory or a .zip' }
    $tmp = Join-Path ([System.IO.Path]::GetTempPath()) ("gw-install-" + [guid]::NewGuid())
    Expand-Archive -LiteralPath $From -DestinationPath $tmp
    return Find-Bins $tmp
  }
  $here = $PSScriptRoot
  foreach ($d in @($here, (Join-Path $here 'bin'))) {
    if ((Test-Path -LiteralPath (Join-Path $d 'gw.exe')) -and (Test-Path -LiteralPath (Join-Path $d 'gw-admin.exe'))) { return $d }
  }
  $root = Split-Path -Parent $here
  if (-not (Test-Path -LiteralPath (Join-Path $root 'Cargo.toml'))) {
    Fail 1 'no -From given, and this installer is not inside a gw checkout' 'pass -From with prebuilt gw.exe and gw-admin.exe'
  }
  if (-not (Get-Command cargo -ErrorAction SilentlyContinue)) {
    Fail 1 'cargo is not installed: building gw from this checkout needs Rust' 'install Rust (https://rustup.rs), or pass -From with prebuilt binaries'
  }
  Say "Building gw and gw-admin from $root (cargo build --release --locked; a first build takes a few minutes)"
  & cargo build --quiet --locked --release -p gw -p gw-admin --manifest-path (Join-Path $root 'Cargo.toml')
  if ($LASTEXITCODE -ne 0) { Fail 1 'cargo build failed (see above)' 'fix the build, or pass -From with prebuilt binaries' }
  $target = if ($env:CARGO_TARGET_DIR) { $env:CARGO_TARGET_DIR } else { Join-Path $root 'target' }
  return (Join-Path $target 'release')
}

function Install-Bins([string]$Src) {
  New-Item -ItemType Directory -Force -Path $Bin | Out-Null
  foreach ($b in $Exes) {
    $dest = Join-Path $Bin $b
    $new = Join-Path $Src $b
    if ((Test-Path -LiteralPath $dest) -and ((Get-FileHash -LiteralPath $dest).Hash -eq (Get-FileHash -LiteralPath $new).Hash)) {
      Say "  unchanged: $dest"; continue
    }
    # A running gw.exe cannot be overwritten, but it can be renamed out of the way.
    if (Test-Path -LiteralPath $dest) { Move-Item -LiteralPath $dest -Destination "$dest.old" -Force }
    Copy-Item -LiteralPath $new -Destination $dest -Force
    Remove-Item -LiteralPath "$dest.old" -Force -ErrorAction SilentlyContinue
    Say "  installed $dest"
  }
  foreach ($b in $Exes) {
    $v = & (Join-Path $Bin $b) --version 2>&1
    if ($LASTEXITCODE -ne 0) { Fail 1 "$b does not run on this machine: $v" "use binaries built for Windows $env:PROCESSOR_ARCHITECTURE" }
    Say "  $v"
  }
  # claude-db.exe: gw answers to that name (the IDE extensions' process wrapper). A hard link
  # needs no privilege; a copy is the fallback.
  $link = Join-Path $Bin 'claude-db.exe'
  $gw = Join-Path $Bin 'gw.exe'
  if (-not (Test-Path -LiteralPath $link) -or (Get-FileHash -LiteralPath $link).Hash -ne (Get-FileHash -LiteralPath $gw).Hash) {
    Remove-Item -LiteralPath $link -Force -ErrorAction SilentlyContinue
    try { New-Item -ItemType HardLink -Path $link -Target $gw | Out-Null } catch { Copy-Item -LiteralPath $gw -Destination $link }
    Say "  linked $link -> gw.exe (for the IDE extensions' process wrapper)"
  }
  $text = (& $gw completions powershell) -join "`r`n"
  $current = if (Test-Path -LiteralPath $Completions) { [System.IO.File]::ReadAllText($Completions) } else { $null }
  if ($current -ne $text + "`r`n") {
    [System.IO.File]::WriteAllText($Completions, $text + "`r`n", $Utf8)
    Say "  wrote completions to $Completions"
  }
}

# ------------------------------------------------------------- config --

function Configure {
  $gw = Join-Path $Bin 'gw.exe'
  $cfg = (& $gw config path 2>$null)
  if ($LASTEXITCODE -eq 0 -and $cfg -and (Test-Path -LiteralPath $cfg)) {
    Say "  kept the config $cfg"
  } else {
    $flags = @()
    if ($DatabricksHost) { $flags += @('--host', $DatabricksHost) }
    if ($TenantId) { $flags += @('--tenant-id', $TenantId) }
    if ($Issuer) { $flags += @('--issuer', $Issuer) }
    if ($ClientId) { $flags += @('--client-id', $ClientId) }
    if ($Model) { $flags += @('--model', $Model) }
    $interactive = -not $NonInteractive -and [Environment]::UserInteractive -and -not [Console]::IsInputRedirected
    if ($flags.Count -eq 0 -and -not $interactive) {
      Say 'Installed, but without a config: run `gw config init`, then `gw login` and `claude-db`.'
      return
    }
    if (-not $interactive) { $flags += '--non-interactive' }
    & $gw config init @flags
    if ($LASTEXITCODE -ne 0) { Fail $LASTEXITCODE 'gw config init failed (see above)' 'run `gw config init` again with the right values' }
  }
  & $gw doctor --offline
  if ($LASTEXITCODE -ne 0) { Say 'note: `gw doctor --offline` found something to fix (see above)' }
}

# ------------------------------------------------------------ uninstall --

if ($Uninstall) {
  Say "Uninstalling gw from $Bin"
  $gw = Join-Path $Bin 'gw.exe'
  if ($Purge -and (Test-Path -LiteralPath $gw)) {
    & $gw logout --all 2>$null | Out-Null
    $cfg = (& $gw config path 2>$null)
    $state = (& $gw config path --state-dir 2>$null)
    if ($cfg -and (Test-Path -LiteralPath $cfg)) { Remove-Item -LiteralPath $cfg -Force; Say "  removed $cfg" }
    if ($state -and (Test-Path -LiteralPath $state)) { Remove-Item -LiteralPath $state -Recurse -Force; Say "  removed $state" }
  }
  foreach ($b in $Exes + @('claude-db.exe')) {
    $p = Join-Path $Bin $b
    if (Test-Path -LiteralPath $p) { Remove-Item -LiteralPath $p -Force; Say "  removed $p" }
  }
  Remove-Item -LiteralPath $Completions -Force -ErrorAction SilentlyContinue
  if (-not $NoProfile) { Uninstall-Profile; Remove-FromPath }
  Remove-Item -LiteralPath $StateDir -Recurse -Force -ErrorAction SilentlyContinue
  Remove-Item -LiteralPath $Bin -ErrorAction SilentlyContinue
  Remove-Item -LiteralPath $Prefix -ErrorAction SilentlyContinue
  exit 0
}

# -------------------------------------------------------------- install --

Say "Installing gw into $Bin"
Install-Bins (Get-Bins)
if (-not $NoProfile) { Add-ToPath; Install-Profile }
Configure
Say ''
Say 'Next, in a new terminal:'
Say '  gw login      # sign in once (browser)'
Say '  claude-db     # Claude Code on the Databricks gateway'
exit 0
