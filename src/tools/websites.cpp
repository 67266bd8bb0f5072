#include "tools/websites.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace dfmcp::tools {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  });
  return out;
}

std::string quote(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string domains_of(const std::vector<model::Website> &websites) {
  std::vector<std::string> out;
  for (const model::Website &w : websites)
    out.push_back(w.domain);
  return out.empty() ? std::string("none") : policy::join(out, ", ");
}

} // namespace

std::optional<WebsiteDirectory::Result> WebsiteDirectory::trusted() const {
  std::lock_guard lock(mutex_);
  if (std::chrono::steady_clock::now() - read_at_ < ttl_) {
    if (websites_ && !refused_)
      return Result(*websites_);
    if (refused_)
      return Result(unexpected(*refused_));
  }
  return std::nullopt;
}

WebsiteDirectory::Result WebsiteDirectory::get(CancelToken *cancel, upstream::Deadline deadline) {
  if (auto known = trusted())
    return std::move(*known);
  // One read at a time: calls that find the list stale together wait for the first one's read
  // (at most one upstream deadline) and take its answer, instead of each asking DataFast.
  std::lock_guard reading(read_mutex_);
  if (auto known = trusted())
    return std::move(*known);
  auto read = api_.list_websites(cancel, deadline);
  std::lock_guard lock(mutex_);
  if (!read) {
    if (read.error().kind != upstream::ErrorKind::Cancelled)
      failed_at_ = std::chrono::steady_clock::now();
    if (read.error().kind == upstream::ErrorKind::Forbidden) {
      refused_ = read.error();
      read_at_ = std::chrono::steady_clock::now();
    }
    return unexpected(read.error());
  }
  if (!websites_ || websites_->size() != read->size() ||
      !std::equal(read->begin(), read->end(), websites_->begin(),
                  [](const model::Website &a, const model::Website &b) {
                    return a.id == b.id && a.domain == b.domain;
                  }))
    ++generation_;
  spdlog::debug("websites: this server's own token can access {} website(s): {}", read->size(),
                domains_of(*read));
  warned_ = false;
  refused_.reset();
  failed_at_.reset();
  websites_ = *read;
  read_at_ = std::chrono::steady_clock::now();
  return std::move(*read);
}

policy::WebsiteNames WebsiteDirectory::names() const {
  std::lock_guard lock(mutex_);
  return names_locked();
}

policy::WebsiteNames WebsiteDirectory::names_locked() const {
  policy::WebsiteNames out;
  if (websites_)
    for (const model::Website &w : *websites_)
      out.emplace(w.id, w.domain);
  return out;
}

policy::WebsiteNames WebsiteDirectory::names_fresh(CancelToken *cancel,
                                                   upstream::Deadline deadline) {
  {
    std::lock_guard lock(mutex_);
    if (failed_at_ && std::chrono::steady_clock::now() - *failed_at_ <
                          std::min<std::chrono::milliseconds>(kRetryAfterFailure, ttl_))
      return names_locked();
  }
  // A failure leaves what is known; it is logged once until a read succeeds again (the callers that
  // need the list report their own failures).
  if (auto read = get(cancel, deadline);
      !read && read.error().kind != upstream::ErrorKind::Cancelled) {
    std::lock_guard lock(mutex_);
    if (!warned_) {
      warned_ = true;
      spdlog::warn("websites: {} Until it can be read, domains are not shown beside ids.",
                   websites_unreadable(read.error(), "reading the website list"));
    }
  }
  return names();
}

std::uint64_t WebsiteDirectory::generation() const {
  std::lock_guard lock(mutex_);
  return generation_;
}

Expected<std::vector<std::string>, std::vector<DomainProblem>>
resolve_domains(const std::vector<std::string> &domains,
                const std::vector<model::Website> &websites,
                const std::vector<model::Website> &known) {
  std::vector<std::string> ids;
  std::vector<DomainProblem> problems;
  for (std::size_t i = 0; i < domains.size(); ++i) {
    std::string wanted = lower(domains[i]);
    std::vector<const model::Website *> matches;
    for (const model::Website &w : websites)
      if (lower(w.domain) == wanted) matches.push_back(&w);
    if (matches.empty()) {
      problems.push_back(
          {i, quote(domains[i]) +
                  " is not the domain of a website this server's token can access "
                  "(domains match exactly, ignoring case); the websites it may name: " +
                  domains_of(known)});
    } else if (matches.size() > 1) {
      std::vector<std::string> which;
      for (const model::Website *w : matches)
        which.push_back(w->id);
      problems.push_back({i, quote(domains[i]) + " is the domain of " +
                                 std::to_string(matches.size()) + " websites (" +
                                 policy::join(which, ", ") + "); name them by id instead"});
    } else if (std::find(ids.begin(), ids.end(), matches.front()->id) != ids.end()) {
      problems.push_back({i, quote(domains[i]) + " is listed twice; list each website once"});
    } else {
      ids.push_back(matches.front()->id);
    }
  }
  if (!problems.empty()) return unexpected(std::move(problems));
  return ids;
}

std::string websites_unreadable(const upstream::UpstreamError &error, std::string_view operation) {
  if (error.kind == upstream::ErrorKind::Forbidden)
    return std::string(operation) + ": DataFast refused to list the websites" +
           (error.detail.empty() ? std::string() : " (HTTP 403: " + error.detail + ")") +
           ". This server's own DataFast token lacks websites:read, so websites cannot be listed "
           "or "
           "named by domain here; the other tools still work: name websites by id (websiteIds). "
           "Whoever runs the server can add websites:read to its token.";
  return upstream::describe(error, operation, false);
}

namespace {

ToolResult list_websites(const WebsiteToolDeps &deps, const json &args, ToolContext &ctx) {
  const std::string tool = "list_websites";
  if (!args.empty()) {
    std::vector<std::string> problems;
    for (const auto &[key, value] : args.items())
      problems.push_back("/" + key + ": unknown argument; this tool takes no arguments");
    spdlog::warn("{}: invalid arguments from {}: {}", tool, ctx.client,
                 policy::join(problems, "; "));
    deps.record(ctx, args, "refused", "invalid arguments: " + policy::join(problems, "; "));
    std::string text = "Invalid arguments. Nothing was sent to DataFast.";
    for (const std::string &p : problems)
      text += "\n- " + p;
    return ToolResult::failure(text);
  }
  auto websites =
      deps.directory->get(ctx.cancel, std::chrono::steady_clock::now() + deps.directory->timeout());
  if (!websites) {
    std::string message = websites_unreadable(websites.error(), tool);
    spdlog::error("{}", message);
    deps.record(ctx, args, "failed", message);
    return ToolResult::failure(message);
  }
  // Only websites within the caller's effective ceiling are shown: an agent limited to some
  // websites does not learn of the others.
  policy::Ceiling effective = deps.effective(*ctx.ceiling);
  json items = json::array();
  for (const model::Website &w : *websites) {
    if (!effective.websites.covers(w.id)) continue;
    json item = json::object();
    item.emplace("id", w.id);
    item.emplace("domain", w.domain);
    item.emplace("name", w.name ? json(*w.name) : json(nullptr));
    item.emplace("role", model::role_name(w.role));
    item.emplace("withinCeiling", true);
    items.push_back(std::move(item));
  }
  spdlog::info("{} for {}: {} of {} website(s) within the ceiling", tool, ctx.client, items.size(),
               websites->size());
  deps.record(ctx, args, "allowed", "");
  std::size_t count = items.size();
  return ToolResult::success(json{
      {"websites", std::move(items)}, {"count", count}, {"allWebsites", effective.websites.all}});
}

} // namespace

void register_website_tools(ToolRegistry &registry, WebsiteToolDeps deps) {
  registry.add({"list_websites", true, [deps = std::move(deps)](const json &a, ToolContext &c) {
                  return list_websites(deps, a, c);
                }});
}

} // namespace dfmcp::tools
