/* An intrusive doubly linked list with a sentinel head: an element is
 * linked through a struct list_link inside it, so queues cost no
 * allocation and an element unlinks itself in O(1). */
#ifndef VSCSI_LIST_H
#define VSCSI_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct list_link {
	struct list_link *prev, *next;
};

/* An empty list, or an element linked nowhere (list_del is then a no-op). */
static inline void list_init(struct list_link *l) { l->prev = l->next = l; }
static inline bool list_empty(const struct list_link *head) { return head->next == head; }

static inline void list_del(struct list_link *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
	l->prev = l->next = l;
}

static inline void list_insert_after(struct list_link *at, struct list_link *l)
{
	l->prev = at;
	l->next = at->next;
	at->next->prev = l;
	at->next = l;
}

static inline void list_add_tail(struct list_link *head, struct list_link *l)
{
	list_insert_after(head->prev, l);
}

static inline void list_add_head(struct list_link *head, struct list_link *l)
{
	list_insert_after(head, l);
}

/* Moves every element of from to the (empty) list to; from ends empty. */
static inline void list_move_all(struct list_link *from, struct list_link *to)
{
	if (list_empty(from))
		return;
	to->next = from->next;
	to->prev = from->prev;
	to->next->prev = to;
	to->prev->next = to;
	list_init(from);
}

#define list_entry(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
/* The first element of a list that is not empty. */
#define list_first(head, type, member) list_entry((head)->next, type, member)

#endif
