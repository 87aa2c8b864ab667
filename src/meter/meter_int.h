/* meter_int.h — what the files of src/meter share beyond meter.h. */
#ifndef IMC_METER_INT_H
#define IMC_METER_INT_H

#include "meter/meter.h"

/* meter_report for an app known to exist, in zone tz (no lookups). */
int meter__report_tz(struct store *s, uint32_t app, int32_t yyyymm, int tz, meter_report_t *out);

#endif
