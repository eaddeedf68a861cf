#include "runtime/server/connection_limits.h"

namespace genrt {

ConnectionCounter::Ticket::~Ticket() {
  if (counter_ != nullptr) counter_->release(client_);
}

ConnectionCounter::Admission ConnectionCounter::admit(const std::string& client, std::optional<Ticket>& ticket) {
  std::lock_guard lock(mutex_);
  if (total_ >= max_total_) return Admission::server_full;
  if (const auto it = per_client_.find(client); it != per_client_.end() && it->second >= max_per_client_) {
    return Admission::client_full;
  }
  ++per_client_[client];
  ++total_;
  ticket.emplace(this, client);
  return Admission::admitted;
}

void ConnectionCounter::release(const std::string& client) {
  std::lock_guard lock(mutex_);
  --total_;
  if (const auto it = per_client_.find(client); --it->second == 0) per_client_.erase(it);
}

}  // namespace genrt
