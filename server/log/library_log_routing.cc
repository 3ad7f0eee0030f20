#include "log/library_log_routing.h"

#include <google/protobuf/stubs/logging.h>
#include <grpc/support/log.h>

#include <string>

#include "log/json_log.h"

namespace loan_gateway {
namespace {

void FromProtobuf(google::protobuf::LogLevel level, const char* file, int line,
                  const std::string& message) {
  const char* severity = level >= google::protobuf::LOGLEVEL_ERROR     ? "error"
                         : level == google::protobuf::LOGLEVEL_WARNING ? "warn"
                                                                       : "info";
  LogLine(severity, "protobuf_log")
      .Str("message", message)
      .Str("file", file)
      .Int("line", line)
      .Emit();
}

void FromGrpc(gpr_log_func_args* args) {
  const char* severity = args->severity == GPR_LOG_SEVERITY_ERROR  ? "error"
                         : args->severity == GPR_LOG_SEVERITY_INFO ? "info"
                                                                   : "debug";
  LogLine(severity, "grpc_log")
      .Str("message", args->message)
      .Str("file", args->file)
      .Int("line", args->line)
      .Emit();
}

}  // namespace

void RouteLibraryLogsToJson() {
  google::protobuf::SetLogHandler(&FromProtobuf);
  gpr_set_log_function(&FromGrpc);
}

}  // namespace loan_gateway
