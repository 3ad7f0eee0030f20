#ifndef LOAN_GATEWAY_SERVER_THREADS_THREAD_NAME_H_
#define LOAN_GATEWAY_SERVER_THREADS_THREAD_NAME_H_

#include <pthread.h>

namespace loan_gateway {

// Names the calling thread (at most 15 characters, "lg-" first) so that
// top -H, /proc/PID/task/*/comm, perf and bench/floor tell the gateway's
// threads apart. Called first thing by each thread the gateway starts.
inline void NameThisThread(const char* name) {
  pthread_setname_np(pthread_self(), name);
}

}  // namespace loan_gateway

#endif  // LOAN_GATEWAY_SERVER_THREADS_THREAD_NAME_H_
