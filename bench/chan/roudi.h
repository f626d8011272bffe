/*
 * roudi.h - what bench_chan's iceoryx transports (iceoryx.c) ask of the broker's keeper
 * (roudi.c).
 */
#ifndef PSHM_BENCH_CHAN_ROUDI_H
#define PSHM_BENCH_CHAN_ROUDI_H

/* Where iceoryx 2 on Linux keeps the sockets of its broker (roudi) and of each process. */
#define IOX_SOCKET_DIR "/tmp/"

/*
 * Have the broker ready, the first time it is asked, and say so at every later call: "", or
 * the reason iceoryx cannot be measured ("unavailable: ..."). PROBE runs in a forked process:
 * it registers with iceoryx's runtime under NAME and returns, and the process exits, which
 * deregisters it. The broker is ready once a probe has registered.
 */
const char *broker_ready(void (*probe)(const char *name));

/* Stop the iox-roudi broker_ready() started, if any, and wait for it to clean up. */
void broker_stop(void);

#endif
