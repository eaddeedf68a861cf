#pragma once
// What one client may hold of the server: how long a request may take to arrive, how big
// its headers and body may be, and how many connections one address and everyone
// together may keep open. `genrt serve` sets them from its flags (README, Serving).

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace genrt {

struct ConnectionLimits {
  // From a request's first byte to its last (headers and body); slower is a 408.
  std::chrono::milliseconds request_timeout{5000};
  // How long a connection may sit idle between requests before it is closed.
  std::chrono::milliseconds keep_alive_timeout{5000};
  // How long one write to a client that reads nothing may block before the connection is dropped.
  std::chrono::milliseconds write_timeout{5000};
  size_t max_connections = 1024;            // open at once in all; beyond: 503
  size_t max_connections_per_client = 256;  // open at once from one address; beyond: 503
  size_t max_header_bytes = 16 * 1024;      // request line and headers; beyond: 431
  size_t max_headers = 100;                 // header fields; beyond: 431
  size_t max_body_bytes = 8 * 1024 * 1024;  // beyond: 413
};

// Counts the open connections per client address against the two caps.
class ConnectionCounter {
 public:
  enum class Admission { admitted, server_full, client_full };

  // An admitted connection, counted until it is destroyed.
  class Ticket {
   public:
    Ticket(ConnectionCounter* counter, std::string client) : counter_(counter), client_(std::move(client)) {}
    Ticket(Ticket&& other) noexcept : counter_(other.counter_), client_(std::move(other.client_)) { other.counter_ = nullptr; }
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    Ticket& operator=(Ticket&&) = delete;
    ~Ticket();

   private:
    ConnectionCounter* counter_;
    std::string client_;
  };

  ConnectionCounter(size_t max_total, size_t max_per_client) : max_total_(max_total), max_per_client_(max_per_client) {}

  // Counts the connection if both caps allow it; `ticket` then holds it.
  Admission admit(const std::string& client, std::optional<Ticket>& ticket);

 private:
  void release(const std::string& client);

  const size_t max_total_;
  const size_t max_per_client_;
  std::mutex mutex_;
  size_t total_ = 0;
  std::unordered_map<std::string, size_t> per_client_;
};

}  // namespace genrt
