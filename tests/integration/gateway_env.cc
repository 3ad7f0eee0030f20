#include "gateway_env.h"

#include <curl/curl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <simdjson.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "throwaway_postgres.h"

namespace loan_gateway::testing {
namespace {

std::string RandomToken(size_t n) {
  static const char kChars[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device rd;
  std::string out;
  for (size_t i = 0; i < n; ++i)
    out.push_back(kChars[rd() % (sizeof kChars - 1)]);
  return out;
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string WaitForFile(const std::string& path, const std::string& what) {
  for (int i = 0; i < 300; ++i) {
    std::string text = ReadWholeFile(path);
    if (!text.empty() && text.back() == '\n')
      return text.substr(0, text.size() - 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error(what + " did not start (no " + path + ")");
}

size_t Collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

int FreePortThatRefuses() {
  return 1;  // Port 1 on loopback: nothing listens, connect is refused at once.
}

// What the scan looks for of one secret: a PEM key's base64 lines (its
// armour lines are no secret), anything else whole.
void AddNeedles(const std::string& secret, std::vector<std::string>& needles) {
  if (!absl::StrContains(secret, "BEGIN")) {
    needles.push_back(secret);
    return;
  }
  for (absl::string_view line :
       absl::StrSplit(secret, '\n', absl::SkipEmpty())) {
    if (!absl::StrContains(line, "-----")) needles.emplace_back(line);
  }
}

}  // namespace

institutional_loan::v1::BorrowRequest MakeBorrow(
    int64_t group, const std::string& amount,
    institutional_loan::v1::Asset asset) {
  institutional_loan::v1::BorrowRequest r;
  r.set_group_id(group);
  r.set_asset(asset);
  r.set_amount(amount);
  return r;
}

google::rpc::ErrorInfo ErrorInfoOf(const grpc::Status& s) {
  google::rpc::Status rpc;
  google::rpc::ErrorInfo info;
  if (!rpc.ParseFromString(s.error_details())) return info;
  for (const auto& any : rpc.details()) {
    if (any.UnpackTo(&info)) return info;
  }
  return info;
}

std::pair<std::string, std::string> ReasonAndOutcome(const grpc::Status& s) {
  const google::rpc::ErrorInfo info = ErrorInfoOf(s);
  auto it = info.metadata().find("outcome");
  return {info.reason(), it == info.metadata().end() ? "" : it->second};
}

GatewayEnv::GatewayEnv(const EnvOptions& options) : options_(options) {
  char tmpl[] = "/tmp/lg_it_XXXXXX";
  dir_ = mkdtemp(tmpl);
  pki_ = std::make_unique<TestPki>(dir_, "test");
  server_cert_ = pki_->Issue(
      "gateway", {.common_name = "loan-gateway",
                  .subject_alt_names = "IP:127.0.0.1,DNS:localhost"});
  client_cert_ = pki_->Issue(
      "rebalancer", {.common_name = "rebalancer",
                     .subject_alt_names = std::string("URI:") + kTestCaller});
  WriteFile(policy_file(),
            options.policy.empty() ? kAllowAllPolicy : options.policy);
  const char* journal = std::getenv("LG_TEST_JOURNAL");
  if (options.postgres_journal.value_or(journal != nullptr &&
                                        std::string(journal) == "postgres")) {
    MakeJournalDatabase();
  }
  const char* audit = std::getenv("LG_TEST_AUDIT");
  audit_in_journal_ = journal_url_.empty() &&
                      options.audit_in_journal.value_or(
                          audit != nullptr && std::string(audit) == "journal");
  if (options.share_fake_of != nullptr) {
    ShareFakeOf(*options.share_fake_of);
  } else {
    MakeKeys(options.key_type);
    StartFake(options);
    for (const std::string& fault : options.faults_before_gateway)
      InjectFault(fault);
  }
  if (options.http2_front) {
    front_ = std::make_unique<Http2Front>(
        dir_, dir_ + "/tls", fake_url_, options.front_idle_timeout_s,
        options.front_requests_per_connection);
  }
  StartGateway(options_);
}

GatewayEnv::~GatewayEnv() {
  ResetChannel();
  gateway_.reset();
  ScanForSecrets();
  front_.reset();
  fake_.reset();
  // Kept for a post-mortem when the test failed or LG_KEEP_TEST_DIRS is set.
  if (!::testing::Test::HasFailure() &&
      std::getenv("LG_KEEP_TEST_DIRS") == nullptr) {
    std::filesystem::remove_all(dir_);
  }
}

// The gateway refuses key files open to other users.
static void MakeOwnerOnly(const std::string& path) {
  std::filesystem::permissions(path, std::filesystem::perms::owner_read |
                                         std::filesystem::perms::owner_write);
}

void GatewayEnv::MakeKeys(const std::string& key_type) {
  api_key_ = RandomToken(64);
  WriteFile(dir_ + "/api_key", api_key_ + "\n");
  MakeOwnerOnly(dir_ + "/api_key");
  if (key_type == "hmac") {
    secret_text_ = RandomToken(64);
    WriteFile(dir_ + "/private_key", secret_text_ + "\n");
    MakeOwnerOnly(dir_ + "/private_key");
    return;
  }
  const std::string algorithm =
      key_type == "rsa" ? "RSA -pkeyopt rsa_keygen_bits:2048" : "ed25519";
  const std::string cmd = absl::StrCat(
      "openssl genpkey -algorithm ", algorithm, " -out ", dir_,
      "/private_key 2>/dev/null && openssl pkey -in ", dir_,
      "/private_key -pubout -out ", dir_, "/public_key.pem 2>/dev/null");
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("openssl failed");
  secret_text_ = ReadWholeFile(dir_ + "/private_key");
  MakeOwnerOnly(dir_ + "/private_key");
}

// The other env's Binance and key: its files copied here (this gateway reads
// them from its own directory), its secrets scanned for here too.
void GatewayEnv::ShareFakeOf(const GatewayEnv& other) {
  options_.key_type = other.options_.key_type;
  api_key_ = other.api_key_;
  secret_text_ = other.secret_text_;
  fake_url_ = other.fake_url_;
  std::filesystem::create_directories(dir_ + "/tls");
  for (const char* file : {"api_key", "private_key", "tls/ca.pem"}) {
    std::filesystem::copy_file(other.dir_ + "/" + file, dir_ + "/" + file);
  }
  MakeOwnerOnly(dir_ + "/api_key");
  MakeOwnerOnly(dir_ + "/private_key");
}

void GatewayEnv::StartFake(const EnvOptions& options) {
  const std::string key_file = options.key_type == "hmac"
                                   ? dir_ + "/private_key"
                                   : dir_ + "/public_key.pem";
  std::vector<std::string> argv = {
      "/usr/bin/python3",
      FAKE_BINANCE_SCRIPT,
      "--key",
      absl::StrCat(options.key_type, ":", api_key_, ":", key_file),
      "--tls-dir",
      dir_ + "/tls",
      "--port-file",
      dir_ + "/fake.port",
      "--risk-unit",
      "1001:USDT=50000,USDC=50000",
      "--risk-unit",
      "1002:USDT=100,USDC=100"};
  argv.insert(argv.end(), options.fake_args.begin(), options.fake_args.end());
  fake_ = std::make_unique<ChildProcess>(argv, dir_ + "/fake.log");
  fake_url_ = "https://127.0.0.1:" +
              WaitForFile(dir_ + "/fake.port", "the Binance fake");
}

// A database of its own on the binary's PostgreSQL server; the gateway gets
// its URL without the password and the password in a file.
void GatewayEnv::MakeJournalDatabase() {
  static std::atomic<int> databases{0};
  absl::StatusOr<std::string> url = ThrowawayPostgres::Shared().CreateDatabase(
      absl::StrCat("gateway_", getpid(), "_", ++databases));
  if (!url.ok()) throw std::runtime_error(url.status().ToString());
  const std::string password = ThrowawayPostgres::password();
  journal_url_ = absl::StrReplaceAll(*url, {{":" + password + "@", "@"}});
  WriteFile(dir_ + "/journal-password", password + "\n");
  MakeOwnerOnly(dir_ + "/journal-password");
  ScanFor(password);
}

std::string GatewayEnv::audit_log() const {
  if (!audit_in_journal_) {
    return std::filesystem::exists(audit_log_path())
               ? ReadWholeFile(audit_log_path())
               : "";
  }
  if (!std::filesystem::exists(audit_log_path())) return "";
  std::string text;
  for (const auto& row : JournalRows("SELECT line FROM audit_log ORDER BY seq"))
    text += row[0];
  return text;
}

std::vector<std::vector<std::string>> GatewayEnv::JournalRows(
    const std::string& sql) const {
  std::vector<std::vector<std::string>> rows;
  if (journal_url_.empty()) {
    sqlite3* db = nullptr;
    sqlite3_open_v2((dir_ + "/journal.db").c_str(), &db, SQLITE_OPEN_READONLY,
                    nullptr);
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      sqlite3_close(db);
      throw std::runtime_error("journal query: " + sql);
    }
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      std::vector<std::string>& row = rows.emplace_back();
      for (int c = 0; c < sqlite3_column_count(stmt); ++c) {
        const unsigned char* text = sqlite3_column_text(stmt, c);
        row.push_back(text == nullptr ? ""
                                      : reinterpret_cast<const char*>(text));
      }
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return rows;
  }
  const std::string password = ThrowawayPostgres::password();
  PGconn* conn =
      PQconnectdb(absl::StrReplaceAll(journal_url_,
                                      {{"@", absl::StrCat(":", password, "@")}})
                      .c_str());
  PGresult* result = PQexec(conn, sql.c_str());
  const bool ok = PQresultStatus(result) == PGRES_TUPLES_OK;
  for (int r = 0; ok && r < PQntuples(result); ++r) {
    std::vector<std::string>& row = rows.emplace_back();
    for (int c = 0; c < PQnfields(result); ++c) {
      row.push_back(PQgetvalue(result, r, c));
    }
  }
  PQclear(result);
  PQfinish(conn);
  if (!ok) throw std::runtime_error("journal query: " + sql);
  return rows;
}

// Creating the journal is a first start's explicit act; a restart must find
// the one it had.
std::vector<std::string> GatewayEnv::JournalArgs() {
  if (journal_url_.empty()) {
    std::vector<std::string> args = {"--journal_path=" + dir_ + "/journal.db"};
    if (!std::filesystem::exists(dir_ + "/journal.db")) {
      args.push_back("--create_journal");
    }
    if (audit_in_journal_) args.push_back("--audit_in_journal");
    return args;
  }
  std::vector<std::string> args = {
      "--journal_url=" + journal_url_,
      "--journal_password_file=" + dir_ + "/journal-password"};
  if (!journal_made_) args.push_back("--create_journal");
  journal_made_ = true;
  return args;
}

void GatewayEnv::StartGateway(const EnvOptions& options) {
  const std::string dead =
      absl::StrCat("https://127.0.0.1:", FreePortThatRefuses());
  const std::string& upstream = front_ ? front_->url() : fake_url_;
  std::string urls = upstream + options.upstream_path;
  if (options.unreachable_first_url) urls = dead + "," + upstream;
  if (options.only_unreachable_urls) urls = dead + "," + dead;
  std::vector<std::string> argv = {
      GATEWAY_BINARY,
      "--listen=127.0.0.1:0",
      "--port_file=" + dir_ + "/gateway.port",
      "--upstream_base_urls=" + urls,
      "--upstream_ca_file=" + dir_ + "/tls/ca.pem",
      "--key_type=" + options.key_type,
      "--api_key_file=" + dir_ + "/api_key",
      "--private_key_file=" + dir_ + "/private_key",
      "--metrics_listen=127.0.0.1:0",
      "--metrics_port_file=" + dir_ + "/metrics.port"};
  if (options.insecure_plaintext) {
    argv.push_back("--insecure_plaintext");
  } else {
    argv.insert(argv.end(), {"--tls_cert_file=" + server_cert_.cert,
                             "--tls_key_file=" + server_cert_.key,
                             "--tls_client_ca_file=" + pki_->ca_file(),
                             "--policy_file=" + policy_file()});
  }
  const std::vector<std::string> journal = JournalArgs();
  argv.insert(argv.end(), journal.begin(), journal.end());
  argv.insert(argv.end(), options.gateway_args.begin(),
              options.gateway_args.end());
  if (options.run_as_uid_if_root >= 0 && geteuid() == 0) {
    const std::string uid = std::to_string(options.run_as_uid_if_root);
    if (std::system(("chown -R " + uid + ":" + uid + " " + dir_).c_str()) != 0)
      throw std::runtime_error("chown failed");
    argv.insert(argv.begin(), {"/usr/bin/setpriv", "--reuid=" + uid,
                               "--regid=" + uid, "--clear-groups"});
  }
  if (!options.open_file_limit.empty()) {
    argv.insert(argv.begin(),
                {"/usr/bin/prlimit", "--nofile=" + options.open_file_limit});
  }
  gateway_ = std::make_unique<ChildProcess>(argv, dir_ + "/gateway.log");
  try {
    target_ = "127.0.0.1:" + WaitForFile(dir_ + "/gateway.port", "the gateway");
  } catch (const std::runtime_error& e) {
    // Say why: the gateway's own startup_failed line.
    throw std::runtime_error(std::string(e.what()) + "; its log:\n" +
                             ReadWholeFile(dir_ + "/gateway.log"));
  }
  metrics_url_ =
      "http://127.0.0.1:" + WaitForFile(dir_ + "/metrics.port", "metrics") +
      "/metrics";
  std::lock_guard<std::mutex> lock(channel_mu_);
  channel_ = grpc::CreateChannel(target_, ChannelCredentials());
}

std::shared_ptr<grpc::ChannelCredentials> GatewayEnv::ChannelCredentials()
    const {
  if (options_.insecure_plaintext) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = ReadFileText(pki_->ca_file());
  tls.pem_cert_chain = ReadFileText(client_cert_.cert);
  tls.pem_private_key = ReadFileText(client_cert_.key);
  return grpc::SslCredentials(tls);
}

std::shared_ptr<grpc::Channel> GatewayEnv::ChannelAs(
    const CertFiles* client) const {
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = ReadFileText(pki_->ca_file());
  if (client != nullptr) {
    tls.pem_cert_chain = ReadFileText(client->cert);
    tls.pem_private_key = ReadFileText(client->key);
  }
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(target_, grpc::SslCredentials(tls), args);
}

std::vector<std::string> GatewayEnv::Loanctl(
    const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {LOANCTL_BINARY, "--target", target_};
  if (options_.insecure_plaintext) {
    argv.push_back("--insecure");
  } else {
    argv.insert(argv.end(), {"--ca", pki_->ca_file(), "--cert",
                             client_cert_.cert, "--key", client_cert_.key});
  }
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

std::vector<std::string> GatewayEnv::BufCurlArgs(
    const std::string& method) const {
  if (options_.insecure_plaintext) {
    return {"--http2-prior-knowledge", "http://" + target_ + "/" + method};
  }
  return {"--cacert",
          pki_->ca_file(),
          "--cert",
          client_cert_.cert,
          "--key",
          client_cert_.key,
          "https://" + target_ + "/" + method};
}

// A call made while the gateway is killed (the crash tests race kills with
// calls) finds no channel: it fails as a call to a dead server would.
static grpc::Status GatewayDown() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE, "gateway not running");
}

std::shared_ptr<grpc::Channel> GatewayEnv::channel() const {
  std::lock_guard<std::mutex> lock(channel_mu_);
  return channel_;
}

void GatewayEnv::ResetChannel() {
  std::lock_guard<std::mutex> lock(channel_mu_);
  channel_.reset();
}

void GatewayEnv::RestartChannel() {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  std::lock_guard<std::mutex> lock(channel_mu_);
  channel_ = grpc::CreateCustomChannel(target_, ChannelCredentials(), args);
}

int GatewayEnv::KillGateway(int signal) {
  ResetChannel();
  return gateway_ ? gateway_->Stop(signal) : -1;
}

void GatewayEnv::RestartGateway() {
  KillGateway(SIGKILL);
  std::filesystem::remove(dir_ + "/gateway.port");
  StartGateway(options_);
}

void GatewayEnv::SignalGateway(int signal) { kill(gateway_->pid(), signal); }

pid_t GatewayEnv::gateway_pid() const { return gateway_->pid(); }

int GatewayEnv::WaitGateway() {
  int status = 0;
  waitpid(gateway_->pid(), &status, 0);
  gateway_->Forget();
  return status;
}

grpc::Status GatewayEnv::GetBorrow(
    const std::string& request_id,
    institutional_loan::v1::GetBorrowResponse* response) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  institutional_loan::v1::GetBorrowRequest request;
  request.set_request_id(request_id);
  std::shared_ptr<grpc::Channel> live = channel();
  if (!live) return GatewayDown();
  return institutional_loan::v1::InstitutionalLoan::NewStub(live)->GetBorrow(
      &context, request, response);
}

institutional_loan::v1::GetBorrowResponse GatewayEnv::AwaitSettled(
    const std::string& request_id, absl::Time give_up) {
  institutional_loan::v1::GetBorrowResponse record;
  while (true) {
    grpc::Status s = GetBorrow(request_id, &record);
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
      record.Clear();  // Never journaled: never sent.
      return record;
    }
    const bool settled =
        s.ok() &&
        record.state() != institutional_loan::v1::BORROW_STATE_PENDING &&
        record.state() != institutional_loan::v1::BORROW_STATE_UNKNOWN;
    if (settled || absl::Now() > give_up) return record;
    absl::SleepFor(absl::Milliseconds(100));
  }
}

int GatewayEnv::StopGateway() {
  ResetChannel();
  return gateway_ ? gateway_->Stop(SIGTERM) : -1;
}

grpc::Status GatewayEnv::Borrow(
    const institutional_loan::v1::BorrowRequest& request,
    institutional_loan::v1::BorrowResponse* response,
    std::chrono::milliseconds deadline) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + deadline);
  std::shared_ptr<grpc::Channel> live = channel();
  if (!live) return GatewayDown();
  return institutional_loan::v1::InstitutionalLoan::NewStub(live)->Borrow(
      &context, request, response);
}

std::string GatewayEnv::ScrapeMetrics() { return HttpGet(metrics_url_, ""); }

std::string GatewayEnv::FakeRequest(const std::string& path,
                                    const std::string& post_json) {
  return HttpGet(fake_url_ + path, post_json);
}

std::string GatewayEnv::HttpGet(const std::string& url,
                                const std::string& post_json) {
  CURL* curl = curl_easy_init();
  std::string body;
  const std::string ca = dir_ + "/tls/ca.pem";
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CAINFO, ca.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_slist* headers =
      curl_slist_append(nullptr, "Content-Type: application/json");
  if (!post_json.empty()) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, post_json.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  }
  const CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) throw std::runtime_error("HTTP request failed: " + url);
  return body;
}

void GatewayEnv::InjectFault(const std::string& json) {
  FakeRequest("/fake/faults", json);
}

FakeState GatewayEnv::State() {
  const std::string text = FakeRequest("/fake/state");
  simdjson::dom::parser parser;
  simdjson::dom::element doc = parser.parse(text);
  FakeState state;
  for (simdjson::dom::element b : doc["borrows"].get_array()) {
    state.borrows.push_back({std::string(std::string_view(b["tran_id"])),
                             int64_t(b["group_id"]),
                             std::string(std::string_view(b["asset"])),
                             std::string(std::string_view(b["amount"])),
                             int64_t(b["signed_timestamp"])});
  }
  for (simdjson::dom::element r : doc["repays"].get_array()) {
    state.repays.push_back({std::string(std::string_view(r["tran_id"])),
                            int64_t(r["group_id"]),
                            std::string(std::string_view(r["asset"])),
                            std::string(std::string_view(r["amount"])),
                            std::string(std::string_view(r["repaid"]))});
  }
  state.received_borrow = int64_t(doc["received"]["borrow"]);
  state.received_time = int64_t(doc["received"]["time"]);
  state.overlapping_operations = int64_t(doc["overlapping_operations"]);
  for (simdjson::dom::element s : doc["signatures"].get_array()) {
    state.signatures.emplace_back(std::string_view(s));
  }
  for (simdjson::dom::key_value_pair by_key :
       doc["requests_by_key"].get_object()) {
    state.requests_by_key[std::string(by_key.key)] = int64_t(by_key.value);
  }
  return state;
}

void GatewayEnv::ScanForSecrets() {
  std::vector<std::string> needles = {api_key_};
  AddNeedles(secret_text_, needles);
  for (const std::string& secret : extra_secrets_) AddNeedles(secret, needles);
  try {
    for (const std::string& s : State().signatures) {
      needles.push_back(s);
      char* escaped =
          curl_easy_escape(nullptr, s.c_str(), static_cast<int>(s.size()));
      needles.emplace_back(escaped);  // As it was sent.
      curl_free(escaped);
    }
  } catch (const std::exception&) {
    // The fake may be gone in a test that stopped it; keys are still scanned.
  }
  // Every line the gateway prints is one JSON object (structured logs).
  simdjson::dom::parser parser;
  for (absl::string_view line :
       absl::StrSplit(GatewayLog(), '\n', absl::SkipEmpty())) {
    simdjson::dom::element doc;
    EXPECT_EQ(parser.parse(line.data(), line.size()).get(doc),
              simdjson::SUCCESS)
        << line;
    EXPECT_TRUE(doc.is_object()) << line;
  }
  // The audit trail is output too: who did what, never with what key.
  const std::string audit = audit_log();
  for (absl::string_view line :
       absl::StrSplit(audit, '\n', absl::SkipEmpty())) {
    simdjson::dom::element doc;
    EXPECT_EQ(parser.parse(line.data(), line.size()).get(doc),
              simdjson::SUCCESS)
        << line;
  }
  const std::string haystack = GatewayLog() + audit + extra_output_;
  EXPECT_FALSE(haystack.empty()) << "the gateway printed nothing at all?";
  for (const std::string& needle : needles) {
    EXPECT_FALSE(absl::StrContains(haystack, needle))
        << "a secret or signature appeared in the output: "
        << needle.substr(0, 6) << "... (see " << dir_ << ")";
  }
}

}  // namespace loan_gateway::testing
