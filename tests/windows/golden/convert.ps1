# osmig: convert the edition (licence conversion, no setup); returns at once (generated)
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
if (Test-OsmigTask 'osmig-convert') { Write-Output 'result=already-running'; exit 0 }
# DISM, detached; its exit code lands in convert-exit.txt (3010: done, restart needed)
Remove-Item -Force -ErrorAction SilentlyContinue (Join-Path $state 'convert-exit.txt')
$cmd = Join-Path $state 'convert.cmd'
Set-Content -Path $cmd -Encoding ASCII -Value @('@echo off', 'dism.exe /online /Set-Edition:ServerDatacenter /ProductKey:CB7KF-BWN84-R7R2Y-793K2-8XDDG /AcceptEula /NoRestart', '>"C:\osmig\convert-exit.txt" echo %ERRORLEVEL%')
Start-OsmigTask 'osmig-convert' $cmd
Write-Output 'result=started'
exit 0
