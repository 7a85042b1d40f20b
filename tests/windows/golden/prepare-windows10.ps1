# osmig: prepare the upgrade; returns at once (generated)
$ErrorActionPreference = 'Stop'
$state = 'C:\osmig'
function Test-OsmigTask($name) {
  try { $s = New-Object -ComObject Schedule.Service; $s.Connect(); return ($s.GetFolder('\').GetTask($name).State -eq 4) } catch { return $false }
}
function Start-OsmigTask($name, $cmd) {
  & schtasks.exe /Create /F /TN $name /RU SYSTEM /RL HIGHEST /SC ONCE /ST 00:00 /TR $cmd | Out-Null
  if ($LASTEXITCODE -ne 0) { Write-Output 'result=task-failed'; exit 4 }
  & schtasks.exe /Run /TN $name | Out-Null
  if ($LASTEXITCODE -ne 0) { Write-Output 'result=task-failed'; exit 4 }
}
New-Item -ItemType Directory -Force -Path $state | Out-Null
# 1. the transit disk online and writable: a SAN policy can leave a new disk offline or read-only
$sys = @(Get-WmiObject -Query "ASSOCIATORS OF {Win32_LogicalDisk.DeviceID='C:'} WHERE AssocClass=Win32_LogicalDiskToPartition" | ForEach-Object { $_.DiskIndex })
$dp = @('san policy=OnlineAll')
foreach ($d in Get-WmiObject -Class Win32_DiskDrive) {
  if ($sys -notcontains $d.Index) { $dp += @(('select disk ' + $d.Index), 'online disk noerr', 'attributes disk clear readonly noerr') }
}
$dp += 'rescan'
$dpf = Join-Path $state 'transit-online.txt'
Set-Content -Path $dpf -Encoding ASCII -Value $dp
& diskpart.exe /s $dpf | Out-Null
$vol = $null
for ($i = 0; $i -lt 30 -and -not $vol; $i++) {
  $vol = Get-WmiObject -Class Win32_Volume | Where-Object { $_.Label -eq 'OSMIG-TRANSIT' -or $_.Label -eq 'OSMIGTRANSI' } | Select-Object -First 1
  if (-not $vol) { Start-Sleep -Seconds 2 }
}
if (-not $vol) { Write-Output 'result=transit-missing'; exit 2 }
if (-not $vol.DriveLetter) {
  $free = [char[]](68..90) | Where-Object { -not (Test-Path ([string]$_ + ':\')) } | Select-Object -Last 1
  $vol.DriveLetter = [string]$free + ':'
  $vol.Put() | Out-Null
}
$probe = $vol.DriveLetter + '\osmig-write-probe'
try { Set-Content -Path $probe -Value 'osmig'; Remove-Item -Force $probe } catch { Write-Output 'result=transit-readonly'; exit 5 }
Set-Content -Path (Join-Path $state 'transit.txt') -Value $vol.DriveLetter
Write-Output ('transit=' + $vol.DriveLetter)
# 2. the compatibility scan, detached; its exit code lands in compat-exit.txt (0xC1900210: no issue)
if (Test-OsmigTask 'osmig-compat') { Write-Output 'result=scanning'; exit 0 }
Remove-Item -Force -ErrorAction SilentlyContinue (Join-Path $state 'compat-exit.txt')
$cmd = Join-Path $state 'compat.cmd'
Set-Content -Path $cmd -Encoding ASCII -Value @('@echo off', ('"' + $vol.DriveLetter + '\setup.exe" /auto upgrade /quiet /compat scanonly /eula accept /dynamicupdate disable /imageindex 4 /pkey WMDGN-G9PQG-XVVXX-R3X43-63DFG /copylogs C:\osmig\scan'), '>"C:\osmig\compat-exit.txt" echo %ERRORLEVEL%')
Start-OsmigTask 'osmig-compat' $cmd
Write-Output 'result=scanning'
exit 0
