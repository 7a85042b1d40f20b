# osmig: where the upgrade stands (generated)
$ErrorActionPreference = 'SilentlyContinue'
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
$cv = Get-ItemProperty 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion'
$b = $cv.CurrentBuild; if (-not $b) { $b = $cv.CurrentBuildNumber }
Write-Output "build=$b"
Write-Output ('edition=' + $cv.EditionID)
Write-Output ('bt=' + [int](Test-Path 'C:\$WINDOWS.~BT'))
Write-Output ('setup_running=' + [int]((Test-OsmigTask 'osmig-setup') -or [bool](Get-Process -Name setup,SetupHost,SetupPrep)))
Write-Output ('convert_running=' + [int](Test-OsmigTask 'osmig-convert'))
foreach ($x in 'compat','setup','convert') {
  $f = Join-Path $state ($x + '-exit.txt')
  if (Test-Path $f) { Write-Output ($x + '_exit=' + (Get-Content $f | Select-Object -First 1).Trim()) }
}
$log = 'C:\$WINDOWS.~BT\Sources\Rollback\setuperr.log','C:\$WINDOWS.~BT\Sources\Panther\setuperr.log','C:\osmig\panther\Panther\setuperr.log','C:\osmig\scan\Panther\setuperr.log' | Where-Object { Test-Path $_ } | Select-Object -First 1
if ($log) { Get-Content $log | Select-Object -First 20 | ForEach-Object { Write-Output "err=$_" } }
