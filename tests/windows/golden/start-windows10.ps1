# osmig: start Windows Setup; returns at once (generated)
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
if ((Test-OsmigTask 'osmig-setup') -or (Get-Process -Name setup,SetupHost,SetupPrep -ErrorAction SilentlyContinue)) { Write-Output 'result=already-running'; exit 0 }
$letter = (Get-Content (Join-Path $state 'transit.txt') | Select-Object -First 1).Trim()
if (-not (Test-Path ($letter + '\setup.exe'))) { Write-Output 'result=transit-missing'; exit 2 }
# Windows Setup, detached; its exit code lands in setup-exit.txt
Remove-Item -Force -ErrorAction SilentlyContinue (Join-Path $state 'setup-exit.txt')
$cmd = Join-Path $state 'setup.cmd'
Set-Content -Path $cmd -Encoding ASCII -Value @('@echo off', ('"' + $letter + '\setup.exe" /auto upgrade /quiet /eula accept /dynamicupdate disable /compat ignorewarning /showoobe none /imageindex 4 /pkey WMDGN-G9PQG-XVVXX-R3X43-63DFG /copylogs C:\osmig\panther'), '>"C:\osmig\setup-exit.txt" echo %ERRORLEVEL%')
Start-OsmigTask 'osmig-setup' $cmd
Write-Output 'result=started'
exit 0
