/* hostile.h: the cases of suite "hostile" (tests/test_hostile.c lists them in its KTAP_SUITE),
 * one file per part: test_hostile.c itself (single steps, events, the watchdog), hostile_views.c (views, remaps, monitors, emulated code). Each case runs
 * a guest scenario that attacks the hypervisor and fails if the hypervisor crashes, hangs or
 * lets the attack through. */
#ifndef HVLAB_HOSTILE_H
#define HVLAB_HOSTILE_H

/* hostile_views.c */
void hostile_region_reads_remapped_frame(void);
void hostile_region_write_denied_by_view(void);
void hostile_remap_onto_region_frame(void);
void hostile_remap_onto_trapped_frame(void);
void hostile_rights_change_under_monitor(void);
void hostile_ve_on_monitored_page(void);
void hostile_region_fetch_without_view_x(void);
void hostile_gva_monitor_through_remap(void);
void hostile_monitor_removal_gives_view_rights(void);
void hostile_get_access_is_the_views(void);
void hostile_vmfunc_inside_region_code(void);
void hostile_vmfunc_between_region_calls(void);
void hostile_region_rewrites_page_tables(void);
void hostile_region_rewrites_its_code(void);
#endif
