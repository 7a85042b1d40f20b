# embed_schema.cmake: cmake -DDIALECT=sqlite -DDIR=schema -DOUT=FILE.c -P embed_schema.cmake
# writes DIR/DIALECT_1.sql, DIALECT_2.sql, ... (in version order, up to the
# first missing) as `const char *const osm_schema_DIALECT[]` and
# `const int osm_schema_DIALECT_n`: the store's migrations, carried by the
# binary (engine/fleet/embed_file.cmake, for an array of files).
set(body "")
set(v 1)
while(EXISTS "${DIR}/${DIALECT}_${v}.sql")
  file(READ "${DIR}/${DIALECT}_${v}.sql" hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" bytes "${bytes}")
  string(APPEND body "static const char v${v}[] = {\n${bytes}0x00};\n")
  math(EXPR v "${v} + 1")
endwhile()
math(EXPR n "${v} - 1")
set(list "")
foreach(i RANGE 1 ${n})
  string(APPEND list "v${i}, ")
endforeach()
file(WRITE "${OUT}" "/* Generated from ${DIR}/${DIALECT}_*.sql by engine/store/embed_schema.cmake. */\n"
  "${body}const char *const osm_schema_${DIALECT}[] = {${list}};\nconst int osm_schema_${DIALECT}_n = ${n};\n")
