/*
 * fuzz_config: the config file parser and config_finish over arbitrary
 * bytes.  Errors must come back in the buffer; nothing may crash or leak.
 */
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config	cfg;
	struct buf	err;

	config_init(&cfg);
	buf_init(&err, 64 * 1024);
	if (config_load_mem(&cfg, "fuzz.yaml",
	    span_make((const char *)data, size), &err) == 0)
		(void)config_finish(&cfg, &err);
	config_free(&cfg);
	buf_free(&err);
	return 0;
}
