#ifndef LOAN_GATEWAY_BENCH_BENCH_SERVER_H_
#define LOAN_GATEWAY_BENCH_BENCH_SERVER_H_

// What bench/floor's reference servers (echo_server, minimal_gateway) share:
// reading their PEM files, mutual TLS as the gateway requires it, and
// serving until killed with their port in a file for bench/floor to read.

#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

namespace bench {

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Client certificates required and verified against `ca`, as the gateway's
// port requires them.
inline std::shared_ptr<grpc::ServerCredentials> MutualTls(
    const std::string& ca, const std::string& cert, const std::string& key) {
  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = ReadFile(ca);
  options.pem_key_cert_pairs.push_back({ReadFile(key), ReadFile(cert)});
  return grpc::SslServerCredentials(options);
}

// Serves `service` on `listen`, writes the port it got to `port_file`, and
// waits until the process is killed. Returns 1 when it cannot listen.
// `max_concurrent_streams` > 0 sets the calls a connection may carry at once
// (HTTP/2 SETTINGS), as the gateway's --grpc_max_concurrent_streams does.
inline int ServeUntilKilled(
    const char* name, grpc::Service* service, const std::string& listen,
    std::shared_ptr<grpc::ServerCredentials> credentials,
    const std::string& port_file, int max_concurrent_streams = 0) {
  int port = 0;
  grpc::ServerBuilder builder;
  if (max_concurrent_streams > 0) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                               max_concurrent_streams);
  }
  builder.AddListeningPort(listen, std::move(credentials), &port);
  builder.RegisterService(service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server) {
    std::fprintf(stderr, "%s: cannot listen on %s\n", name, listen.c_str());
    return 1;
  }
  std::ofstream(port_file) << port << "\n";
  server->Wait();
  return 0;
}

}  // namespace bench

#endif  // LOAN_GATEWAY_BENCH_BENCH_SERVER_H_
