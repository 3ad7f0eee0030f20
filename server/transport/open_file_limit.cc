#include "transport/open_file_limit.h"

#include <dirent.h>
#include <sys/resource.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "log/json_log.h"

namespace loan_gateway {

absl::StatusOr<OpenFileLimit> RaiseOpenFileLimitToHard() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return absl::InternalError(
        absl::StrCat("getrlimit(RLIMIT_NOFILE): ", std::strerror(errno)));
  }
  OpenFileLimit out{.soft_before = limit.rlim_cur,
                    .soft = limit.rlim_cur,
                    .hard = limit.rlim_max};
  if (limit.rlim_cur == limit.rlim_max) return out;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return absl::InternalError(
        absl::StrCat("setrlimit(RLIMIT_NOFILE): ", std::strerror(errno)));
  }
  out.soft = limit.rlim_max;
  return out;
}

int64_t OpenFileCount() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int64_t count = 0;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count - 1;  // The directory stream's own descriptor.
}

// Descriptors kept free beyond the connection caps: journal, upstream
// sockets, the listener watchdog's self-check, gRPC's own.
constexpr int64_t kReservedDescriptors = 256;

absl::Status ReserveDescriptorsForConnections(int64_t connections) {
  absl::StatusOr<OpenFileLimit> limit = RaiseOpenFileLimitToHard();
  if (!limit.ok()) return limit.status();
  LogLine("info", "open_file_limit")
      .Int("soft_before", static_cast<int64_t>(limit->soft_before))
      .Int("soft", static_cast<int64_t>(limit->soft))
      .Int("hard", static_cast<int64_t>(limit->hard))
      .Emit();
  const int64_t needed = connections + kReservedDescriptors;
  if (static_cast<uint64_t>(needed) > limit->soft) {
    return absl::FailedPreconditionError(
        absl::StrCat("--max_grpc_connections + --max_metrics_connections + ",
                     kReservedDescriptors, " reserved = ", needed,
                     " exceeds the open-file limit ", limit->soft,
                     ": lower the caps or raise the hard limit (ulimit -Hn)"));
  }
  return absl::OkStatus();
}

}  // namespace loan_gateway
