#!/usr/bin/env bash
# Builds the Windows test fixtures into OUT (default $OSMIG_FIXTURE_CACHE/windows):
#   roots/NAME/   Windows system volumes whose SOFTWARE and SYSTEM hives are real
#                 hives: the public minimal hive ($OSMIG_REALDATA/windows/hive-minimal)
#                 with .reg text merged in by hivexregedit
#   media/NAME/   installation media: setup.exe, boot/, sources/install.wim, where
#                 install.wim is a real WIM captured by wimlib-imagex with the image
#                 properties of the real layouts (realdata/windows/wiminfo/)
# Exits 77 when the real data is absent. Rebuilt when this script changes.
set -euo pipefail
realdata=${OSMIG_REALDATA:-}
hive=$realdata/windows/hive-minimal
if [[ -z $realdata || ! -f $hive ]]; then
  echo "SKIP: needs \$OSMIG_REALDATA/windows/hive-minimal (see tests/README or realdata README)" >&2
  exit 77
fi
out=${1:-${OSMIG_FIXTURE_CACHE:?}/windows}
stamp=$(sha256sum "$0" | cut -c1-16)
mkdir -p "$(dirname "$out")"
exec 9>"$out.lock"
flock 9
if [[ -f $out/.stamp && $(cat "$out/.stamp") == "$stamp" ]]; then exit 0; fi
rm -rf "$out"
mkdir -p "$out/roots" "$out/media"

# reg_keys PREFIX KEY...: every key with all its parents, so hivexregedit can create them.
reg_key() { # print "[PREFIX\a]", "[PREFIX\a\b]", ... for the path $2
  local prefix=$1 path=$2 acc=
  IFS='\' read -ra parts <<<"$path"
  for p in "${parts[@]}"; do acc=${acc:+$acc\\}$p; echo "[$prefix\\$acc]"; echo; done
}

# make_root NAME BUILD EDITIONID INSTALLTYPE LCID ARCH [VERSION]
make_root() {
  local name=$1 build=$2 edid=$3 itype=$4 lcid=$5 arch=$6 ver=${7:-10.0}
  local r=$out/roots/$name cfg=$out/roots/$name/Windows/System32/config
  mkdir -p "$cfg" "$r/Windows/Fonts" "$r/Users"
  head -c 65536 /dev/zero >"$r/Windows/Fonts/arial.ttf"
  [[ $arch == AMD64 ]] && mkdir -p "$r/Windows/SysWOW64"
  local sw=$cfg/SOFTWARE sy=$cfg/SYSTEM
  cp "$hive" "$sw"; cp "$hive" "$sy"; chmod u+w "$sw" "$sy"
  {
    echo 'Windows Registry Editor Version 5.00'; echo
    reg_key 'HKEY_LOCAL_MACHINE\SOFTWARE' 'Microsoft\Windows NT' 
    echo '[HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Windows NT\CurrentVersion]'
    echo "\"ProductName\"=\"Windows Server ${name}\""
    [[ $edid != - ]] && echo "\"EditionID\"=\"$edid\""
    echo "\"InstallationType\"=\"$itype\""
    echo "\"CurrentBuildNumber\"=\"$build\""
    if [[ $ver == 10.0 ]]; then
      echo "\"CurrentBuild\"=\"$build\""
      echo '"CurrentMajorVersionNumber"=dword:0000000a'
      echo '"CurrentMinorVersionNumber"=dword:00000000'
    fi
    echo "\"CurrentVersion\"=\"${ver/10.0/6.3}\""
    echo
  } >"$r.software.reg"
  {
    echo 'Windows Registry Editor Version 5.00'; echo
    echo '[HKEY_LOCAL_MACHINE\SYSTEM\Select]'; echo '"Current"=dword:00000001'; echo
    reg_key 'HKEY_LOCAL_MACHINE\SYSTEM' 'ControlSet001\Control\Nls\Language' | sed '$d'
    echo "\"InstallLanguage\"=\"$lcid\""; echo
    reg_key 'HKEY_LOCAL_MACHINE\SYSTEM' 'ControlSet001\Control\MUI\UILanguages' | tail -n +5
    echo "[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control\\MUI\\UILanguages\\$(lcid_tag "$lcid")]"; echo
    echo '[HKEY_LOCAL_MACHINE\SYSTEM\ControlSet001\Control\ProductOptions]'
    echo "\"ProductType\"=\"${PRODUCT_TYPE:-ServerNT}\""; echo
    echo '[HKEY_LOCAL_MACHINE\SYSTEM\ControlSet001\Control\Session Manager]'; echo
    echo '[HKEY_LOCAL_MACHINE\SYSTEM\ControlSet001\Control\Session Manager\Environment]'
    echo "\"PROCESSOR_ARCHITECTURE\"=\"$arch\""; echo
  } >"$r.system.reg"
  hivexregedit --merge --prefix 'HKEY_LOCAL_MACHINE\SOFTWARE' "$sw" "$r.software.reg"
  hivexregedit --merge --prefix 'HKEY_LOCAL_MACHINE\SYSTEM' "$sy" "$r.system.reg"
  rm -f "$r.software.reg" "$r.system.reg"
}
lcid_tag() { case $1 in 0409) echo en-US;; 0804) echo zh-CN;; 0407) echo de-DE;; *) echo x-unknown;; esac; }

make_root w2008r2-std-en 7601 ServerStandard Server 0409 AMD64 6.1
make_root w2008r2-rtm-en 7600 ServerStandard Server 0409 AMD64 6.1
make_root w2008r2-ent-zh 7601 ServerEnterprise Server 0804 AMD64 6.1
make_root w2008r2-dc-en 7601 ServerDatacenter Server 0409 AMD64 6.1
make_root w2008r2-std-x86 7601 ServerStandard Server 0409 x86 6.1
make_root w2012r2-std-en 9600 ServerStandard Server 0409 AMD64 6.3
make_root w2012r2-std-core-en 9600 ServerStandard 'Server Core' 0409 AMD64 6.3
make_root w2012r2-dc-en 9600 ServerDatacenter Server 0409 AMD64 6.3
make_root w2012r2-dc-core-zh 9600 ServerDatacenter 'Server Core' 0804 AMD64 6.3
make_root w2012r2-eval-en 9600 ServerStandardEval Server 0409 AMD64 6.3
make_root w2016-std-en 14393 ServerStandard Server 0409 AMD64
make_root w2016-dc-en 14393 ServerDatacenter Server 0409 AMD64
make_root w2016-std-de 14393 ServerStandard Server 0407 AMD64
make_root w2019-dc-zh 17763 ServerDatacenter Server 0804 AMD64
make_root w2019-dc-core-en 17763 ServerDatacenter 'Server Core' 0409 AMD64
PRODUCT_TYPE=WinNT make_root w10-client 19045 Professional Client 0409 AMD64
make_root w2019-pending 17763 ServerDatacenter Server 0409 AMD64
mkdir -p "$out/roots/w2019-pending/\$WINDOWS.~BT/Sources"
pend=$out/roots/w2019-pending/Windows/System32/config
printf 'Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control\\Session Manager]\n"PendingFileRenameOperations"=hex(7):5c,00,3f,00,00,00,00,00\n\n' >"$out/p.reg"
hivexregedit --merge --prefix 'HKEY_LOCAL_MACHINE\SYSTEM' "$pend/SYSTEM" "$out/p.reg"
{ echo 'Windows Registry Editor Version 5.00'; echo
  reg_key 'HKEY_LOCAL_MACHINE\SOFTWARE' 'Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending'; } >"$out/p.reg"
hivexregedit --merge --prefix 'HKEY_LOCAL_MACHINE\SOFTWARE' "$pend/SOFTWARE" "$out/p.reg"
rm -f "$out/p.reg"

# Odd values: a build that is not a number, no EditionID, the language as a DWORD.
make_root w-odd abc - Server 0409 AMD64
printf 'Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Control\\Nls\\Language]\n"InstallLanguage"=dword:00000409\n\n' >"$out/o.reg"
hivexregedit --merge --prefix 'HKEY_LOCAL_MACHINE\SYSTEM' "$out/roots/w-odd/Windows/System32/config/SYSTEM" "$out/o.reg"
rm -f "$out/o.reg"

# The real phony-guest exports of virt-v2v, merged as they are; the lower-case
# path proves the case-insensitive lookup.
r=$out/roots/w2022-realdata/windows/system32/config
mkdir -p "$r"
cp "$hive" "$r/software"; cp "$hive" "$r/system"; chmod u+w "$r/software" "$r/system"
hivexregedit --merge --prefix 'HKEY_LOCAL_MACHINE\SOFTWARE' "$r/software" "$realdata/windows/reg/win2k22-software.reg"
hivexregedit --merge --prefix 'HKEY_LOCAL_MACHINE\SOFTWARE' "$r/software" "$realdata/windows/reg/windows-software-all.reg"
hivexregedit --merge --prefix 'HKEY_LOCAL_MACHINE\SYSTEM' "$r/system" "$realdata/windows/reg/windows-system.reg"

# A SOFTWARE "hive" that is not one.
mkdir -p "$out/roots/corrupt/Windows/System32/config"
head -c 8192 /dev/urandom >"$out/roots/corrupt/Windows/System32/config/SOFTWARE"

# ---- media ----
# add_image WIM RELEASE-NAME BUILD EDITIONID TYPE FLAGS LANG MAJOR MINOR [append]
add_image() {
  local wim=$1 name=$2 build=$3 edid=$4 type=$5 flags=$6 lang=$7 major=$8 minor=$9
  local src=$out/img.$$
  rm -rf "$src"; mkdir -p "$src/Windows/System32"
  echo "$name $edid $type" >"$src/Windows/System32/ntoskrnl.exe"
  echo "$lang" >"$src/Windows/System32/license.rtf"
  local verb=capture; [[ -f $wim ]] && verb=append
  wimlib-imagex $verb "$src" "$wim" "$name" --compress=fast \
    --image-property "DISPLAYNAME=$name" --image-property "WINDOWS/EDITIONID=$edid" \
    --image-property "WINDOWS/INSTALLATIONTYPE=$type" --image-property "WINDOWS/PRODUCTTYPE=ServerNT" \
    --image-property "WINDOWS/LANGUAGES/LANGUAGE=$lang" --image-property "WINDOWS/LANGUAGES/DEFAULT=$lang" \
    --image-property "WINDOWS/VERSION/MAJOR=$major" --image-property "WINDOWS/VERSION/MINOR=$minor" \
    --image-property "WINDOWS/VERSION/BUILD=$build" --image-property "WINDOWS/ARCH=9" \
    --image-property "FLAGS=$flags" >/dev/null
  rm -rf "$src"
}
# make_media NAME RELEASE-TITLE BUILD LANG MAJOR MINOR: the four-image layout
# (Standard Core, Standard, Datacenter Core, Datacenter) of every real
# Server install.wim from 2016 on (wiminfo/w2016..w2025).
make_media() {
  local name=$1 title=$2 build=$3 lang=$4 major=$5 minor=$6 m=$out/media/$1
  mkdir -p "$m/sources" "$m/boot" "$m/efi/boot"
  echo "setup" >"$m/setup.exe"; echo "bcd" >"$m/boot/bcd"; echo "efi" >"$m/efi/boot/bootx64.efi"
  echo "[Channel]" >"$m/sources/ei.cfg"
  local w=$m/sources/install.wim
  add_image "$w" "$title SERVERSTANDARDCORE" "$build" ServerStandard 'Server Core' ServerStandardCore "$lang" "$major" "$minor"
  add_image "$w" "$title SERVERSTANDARD" "$build" ServerStandard Server ServerStandard "$lang" "$major" "$minor"
  add_image "$w" "$title SERVERDATACENTERCORE" "$build" ServerDatacenter 'Server Core' ServerDatacenterCore "$lang" "$major" "$minor"
  add_image "$w" "$title SERVERDATACENTER" "$build" ServerDatacenter Server ServerDatacenter "$lang" "$major" "$minor"
}
make_media 2012r2-en "Windows Server 2012 R2" 9600 en-US 6 3
make_media 2016-en "Windows Server 2016" 14393 en-US 10 0
make_media 2019-en "Windows Server 2019" 17763 en-US 10 0
make_media 2019-zh "Windows Server 2019" 17763 zh-CN 10 0
make_media 2022-en "Windows Server 2022" 20348 en-US 10 0
# 2012 R2 volume-licence media: sources/ei.cfg names the Volume channel.
cp -a "$out/media/2012r2-en" "$out/media/2012r2-vl-en"; printf '[Channel]\r\nVolume\r\n' >"$out/media/2012r2-vl-en/sources/ei.cfg"
# The 2012 R2 evaluation layout (wiminfo/w2012r2-9600-eval-wiminfo.txt): two images.
m=$out/media/2012r2-eval-en; mkdir -p "$m/sources"; echo setup >"$m/setup.exe"
add_image "$m/sources/install.wim" "Windows Server 2012 R2 SERVERSTANDARDCORE" 9600 ServerStandardEval 'Server Core' ServerStandardEvalCore en-US 6 3
add_image "$m/sources/install.wim" "Windows Server 2012 R2 SERVERSTANDARD" 9600 ServerStandardEval Server ServerStandardEval en-US 6 3
# Two images that both claim Datacenter/Server: the pick must refuse.
m=$out/media/2019-dup; mkdir -p "$m/sources"; echo setup >"$m/setup.exe"
add_image "$m/sources/install.wim" "Windows Server 2019 SERVERDATACENTER" 17763 ServerDatacenter Server ServerDatacenter en-US 10 0
add_image "$m/sources/install.wim" "Windows Server 2019 SERVERDATACENTER copy" 17763 ServerDatacenter Server ServerDatacenter en-US 10 0
# A transit test medium with some incompressible data in install.wim.
m=$out/media/transit; mkdir -p "$m/sources/en-us" "$m/boot/fonts" "$m/support"
echo setup >"$m/setup.exe"; echo bcd >"$m/boot/bcd"; head -c 70000 /dev/urandom >"$m/boot/fonts/font.ttf"
echo "setup.dll" >"$m/sources/setup.dll"; echo mui >"$m/sources/en-us/setup.exe.mui"; echo x >"$m/support/readme.txt"
src=$out/img.big; rm -rf "$src"; mkdir -p "$src/Windows"
head -c 3000000 /dev/urandom >"$src/Windows/big.bin"
wimlib-imagex capture "$src" "$m/sources/install.wim" "Windows Server 2019 SERVERDATACENTER" --compress=none \
  --image-property WINDOWS/EDITIONID=ServerDatacenter --image-property WINDOWS/INSTALLATIONTYPE=Server \
  --image-property WINDOWS/LANGUAGES/DEFAULT=en-US --image-property WINDOWS/VERSION/BUILD=17763 >/dev/null
rm -rf "$src"
echo "$stamp" >"$out/.stamp"
