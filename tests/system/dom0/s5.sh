#!/bin/bash
# Scenario 5: failure handling under real Xen.
#  a) a guest is destroyed (xl destroy) in the middle of its I/O: scsiback
#     lives on and lets go of everything (no grant map, no event channel, no
#     dying domain left in xl list);
#  b) scsiback is killed (SIGKILL) and restarted, then stopped (SIGTERM) and
#     restarted, while a guest writes and verifies: the guest's I/O goes on
#     with correct data;
#  c) the next guest works.
# The checks the scenario must record, whatever their verdict (main.sh
# fails it when one is missing; a glob matches any name, 'a|b' either).
# checks: attach-a destroy-mid-io destroy-xl-list-clean destroy-grants-unmapped destroy-evtchn-closed
# checks: destroy-scsiback-alive destroy-fds destroy-backend-dir attach-b restart-after-kill
# checks: io-resumed-after-kill stop-term-clean restart-after-term io-resumed-after-term
# checks: guest:devices-appeared guest:io-across-restarts guest:no-kernel-io-errors region-0 region-1
# checks: region-2 region-3 attach-c guest:read next-guest-read final-xl-list-clean
# checks: final-grants-unmapped
. /xt/dom0/lib.sh
. "$W/storage.env"
scsiback_start || { fail scsiback-start; exit 1; }
pid=$(scsiback_pid)
base_maps=$(scsiback_gntmaps)
base_fds=$(ls /proc/$pid/fd | wc -l)
say "baseline: scsiback pid $pid, $base_maps grant maps, $base_fds fds; domains: $(extra_domains)"

# ---- a) destroyed mid-I/O
G=xt-s5a
dom=$(guest_create $G 1 s5 xt_front=kernel xt_mode=loop) || { fail guest-create; exit 1; }
expect attach-a t 60 vscsictl attach $G "$DISK_SG" 0:0:0:0
guest_unpause $G
if guest_wait $G '^XTG-STAGE io-running' 120; then
	sleep 3
	say "during I/O: $(scsiback_gntmaps) grant maps, $(evtchn_to "$dom") event channels to domain $dom"
	expect destroy-mid-io t 60 xl destroy $G
	clean=0
	for i in $(seq 60); do
		[ -z "$(extra_domains)" ] && [ "$(scsiback_gntmaps)" = "$base_maps" ] && [ "$(evtchn_to "$dom")" = 0 ] &&
			{ clean=1; break; }
		sleep 0.5
	done
	[ -z "$(extra_domains)" ] && pass destroy-xl-list-clean || fail destroy-xl-list-clean "xl list: $(extra_domains)"
	[ "$(scsiback_gntmaps)" = "$base_maps" ] && pass destroy-grants-unmapped ||
		fail destroy-grants-unmapped "$(scsiback_gntmaps) grant maps, baseline $base_maps"
	[ "$(evtchn_to "$dom")" = 0 ] && pass destroy-evtchn-closed ||
		fail destroy-evtchn-closed "$(evtchn_to "$dom") dom0 ports still bound to domain $dom"
	scsiback_pid >/dev/null && pass destroy-scsiback-alive || fail destroy-scsiback-alive
	n=$(ls /proc/$(scsiback_pid)/fd 2>/dev/null | wc -l)
	[ "$n" = "$base_fds" ] && pass destroy-fds "$n" || fail destroy-fds "$n fds, baseline $base_fds"
	# xl knows no vscsi devices, so it leaves their nodes behind: scsiback
	# removes them when the domain goes. Should it not, vscsictl can (list
	# and detach by domain id), so the next scenarios start clean.
	if xenstore-exists /local/domain/0/backend/vscsi/$dom; then
		fail destroy-backend-dir "backend/vscsi/$dom is left in xenstore: $(xenstore-ls -f /local/domain/0/backend/vscsi/$dom | head -5 | tr '\n' ' ')"
		expect destroy-vscsictl-list-gone t 30 vscsictl list "$dom"
		expect destroy-vscsictl-detach-gone t 60 vscsictl detach "$dom" 0:0:0:0
	else pass destroy-backend-dir "backend/vscsi/$dom removed by scsiback"; fi
	xenstore-exists /libxl/$dom && xenstore-ls -f /libxl/$dom
	lsevtchn 0 | tail -20
else
	fail guest-io-running "the guest never started its I/O"
fi
guest_destroy $G

# ---- b) scsiback killed and restarted under a connected guest
G=xt-s5b
dom=$(guest_create $G 1 s5 xt_front=kernel xt_mode=rounds) || { fail guest-create; exit 1; }
expect attach-b t 60 vscsictl attach $G "$DISK_SG" 0:0:0:0
guest_unpause $G
round() { sed -n 's/\r$//; s/^XTG-STAGE round-\([0-9]*\) .*/\1/p' "$(guest_log $G)" | tail -1; }
# more_rounds N SECONDS: N more rounds after the current one
more_rounds() { guest_wait $G "^XTG-STAGE round-$(( $(round) + $1 )) " "$2"; }
if guest_wait $G '^XTG-STAGE round-2 ' 120; then
	pid=$(scsiback_pid)
	say "SIGKILL to scsiback $pid in round $(round) of the guest's I/O"
	kill -KILL "$pid"
	sleep 2
	scsiback_start && pass restart-after-kill || fail restart-after-kill
	if more_rounds 3 90; then
		pass io-resumed-after-kill "round $(round)"
		say "SIGTERM to scsiback $(scsiback_pid) in round $(round)"
		# scsiback(8): in-flight commands finish, then exit status 0.
		scsiback_stop TERM
		case $? in
		0) pass stop-term-clean "exit status $SCSIBACK_EXIT" ;;
		1) fail stop-term-clean "scsiback ignored SIGTERM for 40 s" ;;
		*) fail stop-term-clean "exit status $SCSIBACK_EXIT after SIGTERM, not 0" ;;
		esac
		scsiback_start && pass restart-after-term || fail restart-after-term
		more_rounds 3 90 && pass io-resumed-after-term "round $(round)" ||
			fail io-resumed-after-term "the guest's I/O did not go on"
	else
		fail io-resumed-after-kill "the guest's I/O did not go on after the restart"
	fi
else
	fail guest-io-running "the guest never started its rounds"
fi
xenstore-write "/local/domain/$dom/data/xt-stop" 1
guest_finish $G 120
for r in 0 1 2 3; do
	md5_check "region-$r" $G "region.$r" "$(md5_of "$DISK_IMG" $((48 + r * 4)) 4)"
done

# ---- c) the next guest
G=xt-s5c
dom=$(guest_create $G 1 s5 xt_front=kernel xt_mode=check) || { fail guest-create; exit 1; }
expect attach-c t 60 vscsictl attach $G "$DISK_SD" 0:0:0:0
guest_unpause $G
guest_finish $G 120
md5_check next-guest-read $G read.0-16 "$(md5_of "$DISK_IMG" 0 16)"

sleep 2
[ -z "$(extra_domains)" ] && pass final-xl-list-clean || fail final-xl-list-clean "xl list: $(extra_domains)"
[ "$(scsiback_gntmaps)" = "$base_maps" ] && pass final-grants-unmapped ||
	fail final-grants-unmapped "$(scsiback_gntmaps) grant maps, baseline $base_maps"
left=$(xenstore-list /local/domain/0/backend/vscsi 2>/dev/null | tr '\n' ' ')
say "backend/vscsi holds: ${left:-nothing}"
xl list
exit 0
