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
$unattend = Join-Path $state 'unattend.xml'
Set-Content -Path $unattend -Encoding UTF8 -Value @(
  '<?xml version="1.0" encoding="utf-8"?>',
  '<unattend xmlns="urn:schemas-microsoft-com:unattend" xmlns:wcm="http://schemas.microsoft.com/WMIConfig/2002/State">',
  '  <settings pass="windowsPE">',
  '    <component name="Microsoft-Windows-Setup" processorArchitecture="amd64" publicKeyToken="31bf3856ad364e35" language="neutral" versionScope="nonSxS">',
  '      <UpgradeData><Upgrade>true</Upgrade><WillShowUI>Never</WillShowUI></UpgradeData>',
  '      <ImageInstall><OSImage><InstallFrom><MetaData wcm:action="add"><Key>/IMAGE/INDEX</Key><Value>2</Value></MetaData></InstallFrom></OSImage></ImageInstall>',
  '      <UserData><AcceptEula>true</AcceptEula><ProductKey><Key>W3GGN-FT8W3-Y4M27-J84CP-Q3VJ9</Key><WillShowUI>Never</WillShowUI></ProductKey></UserData>',
  '    </component>',
  '  </settings>',
  '</unattend>')
# Windows Setup, detached; its exit code lands in setup-exit.txt
Remove-Item -Force -ErrorAction SilentlyContinue (Join-Path $state 'setup-exit.txt')
$cmd = Join-Path $state 'setup.cmd'
Set-Content -Path $cmd -Encoding ASCII -Value @('@echo off', ('"' + $letter + '\setup.exe" /unattend:C:\osmig\unattend.xml'), '>"C:\osmig\setup-exit.txt" echo %ERRORLEVEL%')
Start-OsmigTask 'osmig-setup' $cmd
Write-Output 'result=started'
exit 0
