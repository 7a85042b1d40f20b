# osmig: setup's logs, whole (generated)
$ErrorActionPreference = 'SilentlyContinue'
foreach ($d in 'bt-panther|C:\$WINDOWS.~BT\Sources\Panther','bt-rollback|C:\$WINDOWS.~BT\Sources\Rollback','windows-panther|C:\Windows\Panther','copylogs|C:\osmig\panther\Panther','scan|C:\osmig\scan\Panther') {
  $tag, $dir = $d.Split('|')
  foreach ($n in 'setuperr.log','setupact.log') {
    $p = Join-Path $dir $n
    if (Test-Path $p) {
      Write-Output ('log-begin=' + $tag + '-' + $n)
      foreach ($line in [IO.File]::ReadAllLines($p)) { Write-Output ('log=' + $line) }
      Write-Output ('log-end=' + $tag + '-' + $n)
    }
  }
}
