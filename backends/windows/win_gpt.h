/* win_gpt: write a GPT with one Microsoft basic data partition into a disk
 * image file, through util-linux's libfdisk (no helper process, no device
 * re-read, no sleeps). START and SIZE are in 512-byte sectors. */
#ifndef WIN_GPT_H
#define WIN_GPT_H

#include <stdint.h>

#include "osm_error.h"

#define WIN_GPT_BASIC_DATA "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"

int win_gpt_write(const char *image, uint64_t start, uint64_t size, const char *name, struct osm_err *err);

#endif
