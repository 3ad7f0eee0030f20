#include "http2_front.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace loan_gateway::testing {
namespace {

// A loopback port free now (the kernel's pick), for nginx, which cannot
// report the port it bound.
int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    close(fd);
    throw std::runtime_error("no free loopback port");
  }
  close(fd);
  return ntohs(address.sin_port);
}

bool Accepts(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  const bool connected =
      connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  close(fd);
  return connected;
}

// The access log says which connection carried each request and over
// which protocol; the API key header and the body are not logged.
constexpr char kConfig[] = R"(
worker_processes 1;
daemon off;
pid @DIR@/nginx.pid;
error_log @DIR@/error.log warn;
events { worker_connections 1024; }
http {
  log_format front '$connection $server_protocol $status $uri';
  access_log @DIR@/access.log front;
  client_body_temp_path @DIR@/body;
  proxy_temp_path @DIR@/proxy;
  fastcgi_temp_path @DIR@/fastcgi;
  uwsgi_temp_path @DIR@/uwsgi;
  scgi_temp_path @DIR@/scgi;
  keepalive_timeout @IDLE@s;
  keepalive_requests @REQUESTS@;
  server {
    listen 127.0.0.1:@PORT@ ssl http2;
    ssl_certificate @TLS@/server.pem;
    ssl_certificate_key @TLS@/server.key;
    location / {
      proxy_pass @UPSTREAM@;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_ssl_verify off;
      proxy_buffering off;
      proxy_request_buffering off;
    }
  }
}
)";

}  // namespace

Http2Front::Http2Front(const std::string& dir, const std::string& tls_dir,
                       const std::string& upstream, int idle_timeout_s,
                       int requests_per_connection)
    : dir_(dir + "/front") {
  std::filesystem::create_directories(dir_);
  const int port = FreeLoopbackPort();
  const std::string config = absl::StrReplaceAll(
      kConfig, {{"@DIR@", dir_},
                {"@TLS@", tls_dir},
                {"@UPSTREAM@", upstream},
                {"@IDLE@", absl::StrCat(idle_timeout_s)},
                {"@REQUESTS@", absl::StrCat(requests_per_connection)},
                {"@PORT@", absl::StrCat(port)}});
  std::ofstream(dir_ + "/nginx.conf") << config;
  nginx_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{"/usr/sbin/nginx", "-c", dir_ + "/nginx.conf",
                               "-e", dir_ + "/error.log"},
      dir_ + "/nginx.out");
  for (int i = 0; i < 100 && !Accepts(port); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!Accepts(port)) {
    throw std::runtime_error("nginx (the HTTP/2 front) did not start: " +
                             ReadWholeFile(dir_ + "/error.log") +
                             ReadWholeFile(dir_ + "/nginx.out"));
  }
  url_ = absl::StrCat("https://127.0.0.1:", port);
}

void Http2Front::KillWorker() {
  const std::string master = std::to_string(nginx_->pid());
  std::istringstream workers(
      ReadWholeFile("/proc/" + master + "/task/" + master + "/children"));
  for (pid_t worker = 0; workers >> worker;) kill(worker, SIGKILL);
}

std::vector<FrontRequest> Http2Front::Requests() const {
  std::vector<FrontRequest> requests;
  std::istringstream lines(ReadWholeFile(dir_ + "/access.log"));
  FrontRequest r;
  while (lines >> r.connection >> r.protocol >> r.status >> r.uri) {
    requests.push_back(r);
  }
  return requests;
}

}  // namespace loan_gateway::testing
