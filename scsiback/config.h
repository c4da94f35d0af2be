/* scsiback's backend-side settings: what must never come from xenstore
 * (guests can read their backend nodes) — iSCSI credentials, CDB
 * policies — and daemon defaults. An INI file parsed with inih:
 *
 *   [scsiback]
 *   log-level = info
 *   initiator-name = iqn.2026-11.org.example:dom0
 *   guest-initiator-prefix = iqn.2026-11.org.example:guest   ; or "off"
 *   state-dir = /run/scsiback
 *
 *   [iscsi iqn.2026-11.org.example:disk]     ; per target IQN
 *   chap-user = alice
 *   chap-password = secret
 *
 *   [policy no-firmware]
 *   mode = deny-list                         ; allow-all | deny-list | allow-list
 *   opcodes = 0x3b 0x04                      ; WRITE BUFFER, FORMAT UNIT
 *
 *   [lun iscsi://127.0.0.1/iqn.2026-11.org.example:disk/1]   ; per p-dev
 *   policy = no-firmware
 *   timeout = 120                            ; seconds, when the guest gives none
 *                                            ; (0: the device type's default)
 */
#ifndef SCSIBACK_CONFIG_H
#define SCSIBACK_CONFIG_H

#include "lun.h"
#include "policy.h"

struct config_iscsi {
	char iqn[224];
	char user[128];
	char password[128];
	int user_line, password_line;  /* where they were set (0: not set) */
};

/* [lun] timeout: 0 is the device type's default (lun.c); more than a week
 * is a typo, not a command's time. */
#define CONFIG_TIMEOUT_MAX_S (7u * 24 * 3600)

struct config_lun {
	char pdev[256];
	char policy[64];
	int policy_line;               /* where policy was set */
	unsigned timeout_s;
};

struct scsiback_config {
	int log_level;                 /* -1: not set */
	char initiator_name[224];
	/* Guests' iSCSI names are PREFIX.UUID (common/iport.h); "" when
	 * "off": every LUN logs in as initiator_name, ISID at random. */
	char guest_initiator_prefix[224];
	/* Offer feature-persistent (docs/protocol.md); "persistent-grants". */
	bool persistent_grants;
	char state_dir[256];
	char sysfs_root[256];
	struct config_iscsi *iscsi;
	unsigned n_iscsi;
	struct policy *policies;
	unsigned n_policies;
	struct config_lun *luns;
	unsigned n_luns;
};

/* Loads path (NULL: defaults only). Returns 0, or -errno with a message
 * naming the file, line and problem in err. */
int config_load(const char *path, struct scsiback_config *cfg, char *err, size_t errlen);
void config_free(struct scsiback_config *cfg);

/* The settings of one p-dev: driver config and its policy (NULL = allow
 * all). Pointers stay valid while cfg lives. */
void config_lun_settings(const struct scsiback_config *cfg, const char *pdev,
			 struct lun_config *out, const struct policy **policy);

#endif
