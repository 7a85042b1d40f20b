# embed_file.cmake: cmake -DIN=FILE -DOUT=FILE.c -DNAME=sym -P embed_file.cmake
# writes FILE's bytes as `const char sym[]` (NUL-terminated) and
# `const size_t sym_len`, so the binary carries the file (docs/openapi.json).
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" n)
math(EXPR len "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" bytes "${bytes}")
file(WRITE "${OUT}" "/* Generated from ${IN} by engine/embed_file.cmake. */\n#include <stddef.h>\n"
  "const char ${NAME}[] = {\n${bytes}0x00};\nconst size_t ${NAME}_len = ${len};\n")
