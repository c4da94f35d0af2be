COMMON_SRCS := common/log.c common/evloop.c
common_objs = $(patsubst %.c,$(BUILD)/%.o,$(COMMON_SRCS))
