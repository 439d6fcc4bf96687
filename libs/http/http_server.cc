#include "libs/http/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/status/errors.h"

namespace dvc::http {
namespace {

constexpr size_t kMaxMethodLength = 16;

bool IsTokenChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

bool HasControlChars(absl::string_view s) {
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if ((u < 0x20 && u != '\t') || u == 0x7f) return true;
  }
  return false;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 &&
               HexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool PrefixMatches(absl::string_view prefix, absl::string_view path) {
  if (path.substr(0, prefix.size()) != prefix) return false;
  if (path.size() == prefix.size()) return true;
  if (!prefix.empty() && prefix.back() == '/') return true;
  return path[prefix.size()] == '/';
}

// Milliseconds left until `deadline`, at least 0.
int RemainingMs(absl::Time deadline) {
  int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now());
  return static_cast<int>(std::clamp<int64_t>(ms, 0, 1 << 30));
}

enum class ReadResult { kOk, kTimeout, kClosed };

// Appends what is available on `fd` to `buf` (at most `max` bytes), waiting until `deadline`.
ReadResult ReadSome(int fd, std::string* buf, size_t max, absl::Time deadline) {
  while (true) {
    pollfd p{fd, POLLIN, 0};
    int r = poll(&p, 1, RemainingMs(deadline));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) return ReadResult::kTimeout;
    if (r < 0) return ReadResult::kClosed;
    char chunk[8192];
    ssize_t n = recv(fd, chunk, std::min(sizeof(chunk), std::max<size_t>(max, 1)), 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return ReadResult::kClosed;
    buf->append(chunk, static_cast<size_t>(n));
    return ReadResult::kOk;
  }
}

bool SendAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::string Serialize(const ServerResponse& resp, bool head) {
  std::string out = absl::StrCat("HTTP/1.1 ", resp.status, " ", ReasonPhrase(resp.status), "\r\n");
  if (!HasControlChars(resp.content_type)) {
    absl::StrAppend(&out, "Content-Type: ", resp.content_type, "\r\n");
  }
  for (const auto& [k, v] : resp.headers) {
    // Header injection guard: no CR/LF, and the framing headers belong to the server.
    if (k.empty() || HasControlChars(k) || HasControlChars(v)) continue;
    if (absl::EqualsIgnoreCase(k, "Content-Length") || absl::EqualsIgnoreCase(k, "Connection") ||
        absl::EqualsIgnoreCase(k, "Transfer-Encoding") ||
        absl::EqualsIgnoreCase(k, "Content-Type")) {
      continue;
    }
    absl::StrAppend(&out, k, ": ", v, "\r\n");
  }
  absl::StrAppend(&out, "Content-Length: ", resp.body.size(), "\r\nConnection: close\r\n\r\n");
  if (!head) out.append(resp.body);
  return out;
}

void SetTimeout(int fd, int option, absl::Duration d) {
  timeval tv = absl::ToTimeval(d);
  setsockopt(fd, SOL_SOCKET, option, &tv, sizeof(tv));
}

// Half-closes, then discards what the client still sends for a moment so that the kernel does not
// answer unread data with a RST that could destroy our response in flight.
void LingeringClose(int fd) {
  shutdown(fd, SHUT_WR);
  absl::Time deadline = absl::Now() + absl::Milliseconds(500);
  std::string sink;
  size_t drained = 0;
  while (drained < (256u << 10)) {
    sink.clear();
    if (ReadSome(fd, &sink, 8192, deadline) != ReadResult::kOk) break;
    drained += sink.size();
  }
}

// Parses the request head (request line + headers, without the final empty line).
// Returns 0 on success or the HTTP status to answer with.
int ParseHead(absl::string_view head, ServerRequest* req, size_t* content_length) {
  std::vector<absl::string_view> lines = absl::StrSplit(head, "\r\n");
  std::vector<absl::string_view> parts = absl::StrSplit(lines[0], ' ');
  if (parts.size() != 3) return 400;
  absl::string_view method = parts[0], target = parts[1], version = parts[2];
  if (method.empty() || method.size() > kMaxMethodLength) return 400;
  for (char c : method) {
    if (!absl::ascii_isupper(static_cast<unsigned char>(c))) return 400;
  }
  if (target.empty() || target[0] != '/' || HasControlChars(target)) return 400;
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return 400;
  req->method = std::string(method);
  req->target = std::string(target);
  size_t q = target.find('?');
  req->path = std::string(target.substr(0, q));
  req->query = q == absl::string_view::npos ? "" : std::string(target.substr(q + 1));

  std::optional<size_t> length;
  for (size_t i = 1; i < lines.size(); ++i) {
    absl::string_view line = lines[i];
    size_t colon = line.find(':');
    if (colon == absl::string_view::npos || colon == 0) return 400;
    absl::string_view name = line.substr(0, colon);
    for (char c : name) {
      if (!IsTokenChar(c)) return 400;  // also rejects obsolete line folding
    }
    absl::string_view value = absl::StripAsciiWhitespace(line.substr(colon + 1));
    if (HasControlChars(value)) return 400;
    if (absl::EqualsIgnoreCase(name, "Transfer-Encoding")) return 501;
    if (absl::EqualsIgnoreCase(name, "Content-Length")) {
      uint64_t n = 0;
      if (value.empty() || value.size() > 18 ||
          !std::all_of(value.begin(), value.end(),
                       [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); }) ||
          !absl::SimpleAtoi(value, &n)) {
        return 400;
      }
      if (length.has_value() && *length != n) return 400;
      length = static_cast<size_t>(n);
    }
    req->headers.emplace_back(std::string(name), std::string(value));
  }
  *content_length = length.value_or(0);
  return 0;
}

ServerResponse ErrorResponse(int status) {
  return ServerResponse::Text(status, absl::StrCat(status, " ", ReasonPhrase(status), "\n"));
}

}  // namespace

std::optional<std::string> ServerRequest::QueryParam(absl::string_view name) const {
  for (absl::string_view pair : absl::StrSplit(query, '&')) {
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    absl::string_view key = pair.substr(0, eq);
    absl::string_view value = eq == absl::string_view::npos ? "" : pair.substr(eq + 1);
    if (PercentDecode(key) == name) return PercentDecode(value);
  }
  return std::nullopt;
}

ServerResponse ServerResponse::Text(int status, std::string body, std::string content_type) {
  ServerResponse r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = std::move(content_type);
  return r;
}

ServerResponse ServerResponse::Json(int status, std::string body) {
  return Text(status, std::move(body), "application/json; charset=utf-8");
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Unknown";
  }
}

HttpServer::HttpServer() : HttpServer(Options{}) {}

HttpServer::HttpServer(Options options) : options_(options) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Handle(std::string method, std::string path_prefix, Handler handler) {
  routes_.push_back(Route{std::move(method), std::move(path_prefix), std::move(handler)});
}

absl::Status HttpServer::Start(const std::string& host, int port) {
  if (listen_fd_ >= 0 || stopping_) {
    return status::FailedPrecondition("HTTP_SERVER_STATE", "", "Máy chủ HTTP đã được khởi động.",
                                      "The HTTP server was already started.");
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  std::string h = host == "localhost" ? "127.0.0.1" : host.empty() ? "0.0.0.0" : host;
  if (port < 0 || port > 65535 || inet_pton(AF_INET, h.c_str(), &addr.sin_addr) != 1) {
    return status::InvalidArgument("HTTP_BAD_LISTEN_ADDRESS", "host",
                                   "Địa chỉ lắng nghe không hợp lệ.",
                                   "The listen address is invalid.");
  }
  auto fail = [&](const char* what) {
    int err = errno;
    if (listen_fd_ >= 0) close(listen_fd_);
    listen_fd_ = -1;
    return status::WithMetadata(
        status::Unavailable("HTTP_LISTEN_FAILED", "Không thể mở cổng lắng nghe HTTP.",
                            "Could not listen on the HTTP port."),
        "cause", absl::StrCat(what, ": ", std::strerror(err)));
  };
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return fail("socket");
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return fail("bind");
  if (listen(listen_fd_, 128) != 0) return fail("listen");
  socklen_t len = sizeof(addr);
  if (getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return fail("getsockname");
  }
  if (pipe2(wake_pipe_, O_CLOEXEC) != 0) return fail("pipe");
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
  return absl::OkStatus();
}

void HttpServer::AcceptLoop() {
  while (!stopping_) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    int r = poll(fds, 2, 1000);
    if (r < 0 && errno != EINTR) break;
    if (stopping_) break;
    {
      std::lock_guard<std::mutex> lock(mu_);
      JoinFinishedLocked();
    }
    if (r <= 0 || !(fds[0].revents & POLLIN)) continue;
    sockaddr_in peer{};
    socklen_t len = sizeof(peer);
    int fd = accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC);
    if (fd < 0) {
      // EMFILE and friends: back off briefly instead of spinning.
      if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED) poll(nullptr, 0, 50);
      continue;
    }
    char ip[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof(ip));
    std::string remote = absl::StrCat(ip, ":", ntohs(peer.sin_port));

    std::lock_guard<std::mutex> lock(mu_);
    if (static_cast<int>(open_fds_.size()) >= options_.max_connections) {
      SetTimeout(fd, SO_SNDTIMEO, absl::Milliseconds(100));
      SendAll(fd, Serialize(ErrorResponse(503), false));
      close(fd);
      continue;
    }
    open_fds_.insert(fd);
    std::thread worker([this, fd, remote = std::move(remote)]() mutable {
      ServeConnection(fd, std::move(remote));
      std::lock_guard<std::mutex> done_lock(mu_);
      open_fds_.erase(fd);
      close(fd);
      finished_.push_back(std::this_thread::get_id());
    });
    std::thread::id id = worker.get_id();
    workers_.emplace(id, std::move(worker));
  }
}

void HttpServer::JoinFinishedLocked() {
  std::vector<std::thread::id> pending;
  for (std::thread::id id : finished_) {
    auto it = workers_.find(id);
    if (it == workers_.end()) {
      pending.push_back(id);  // not registered yet
      continue;
    }
    it->second.join();
    workers_.erase(it);
  }
  finished_ = std::move(pending);
}

void HttpServer::ServeConnection(int fd, std::string remote) {
  SetTimeout(fd, SO_SNDTIMEO, options_.write_timeout);
  const absl::Time deadline = absl::Now() + options_.read_timeout;
  std::string buf;
  size_t head_end = std::string::npos;
  auto respond = [&](const ServerResponse& resp, bool head) {
    SendAll(fd, Serialize(resp, head));
    LingeringClose(fd);
  };

  // Request line and headers.
  while (true) {
    size_t scan_from = buf.size() >= 3 ? buf.size() - 3 : 0;
    ReadResult r = ReadSome(fd, &buf, options_.max_header_bytes + 4 - buf.size(), deadline);
    if (r == ReadResult::kClosed) return;
    if (r == ReadResult::kTimeout) {
      if (!buf.empty()) respond(ErrorResponse(408), false);
      return;
    }
    head_end = buf.find("\r\n\r\n", scan_from);
    if (head_end != std::string::npos) break;
    if (buf.size() > options_.max_header_bytes) return respond(ErrorResponse(431), false);
  }
  if (head_end > options_.max_header_bytes) return respond(ErrorResponse(431), false);

  ServerRequest req;
  req.remote_addr = std::move(remote);
  size_t content_length = 0;
  if (int err = ParseHead(absl::string_view(buf).substr(0, head_end), &req, &content_length);
      err != 0) {
    return respond(ErrorResponse(err), false);
  }
  if (content_length > options_.max_body_bytes) return respond(ErrorResponse(413), false);

  // Body.
  req.body = buf.substr(head_end + 4);
  while (req.body.size() < content_length) {
    ReadResult r = ReadSome(fd, &req.body, content_length - req.body.size(), deadline);
    if (r == ReadResult::kClosed) return;
    if (r == ReadResult::kTimeout) return respond(ErrorResponse(408), false);
  }
  req.body.resize(content_length);  // ignore pipelined bytes: one request per connection

  respond(Dispatch(req), req.method == "HEAD");
}

ServerResponse HttpServer::Dispatch(const ServerRequest& request) const {
  const Route* best = nullptr;
  bool path_known = false;
  for (const Route& route : routes_) {
    if (!PrefixMatches(route.prefix, request.path)) continue;
    path_known = true;
    bool method_ok = route.method.empty() || route.method == request.method ||
                     (request.method == "HEAD" && route.method == "GET");
    if (method_ok && (best == nullptr || route.prefix.size() > best->prefix.size())) best = &route;
  }
  if (best == nullptr) return ErrorResponse(path_known ? 405 : 404);
  try {
    return best->handler(request);
  } catch (...) {
    return ErrorResponse(500);
  }
}

void HttpServer::Stop() {
  if (stopping_.exchange(true)) return;
  if (listen_fd_ < 0) return;
  char wake = 1;
  (void)!write(wake_pipe_[1], &wake, 1);
  if (acceptor_.joinable()) acceptor_.join();
  close(listen_fd_);
  listen_fd_ = -1;
  std::map<std::thread::id, std::thread> workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Wake connections still waiting for request bytes; running handlers can still respond.
    for (int fd : open_fds_) shutdown(fd, SHUT_RD);
    workers.swap(workers_);
    finished_.clear();
  }
  for (auto& [id, t] : workers) t.join();
  close(wake_pipe_[0]);
  close(wake_pipe_[1]);
  wake_pipe_[0] = wake_pipe_[1] = -1;
}

}  // namespace dvc::http
