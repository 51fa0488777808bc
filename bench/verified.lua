-- wrk script: the verified path.  Every request is a pingback.ping
-- with a source URL of its own, so each is fetched, parsed and stored:
-- sources are ORIGIN/s/TAG-THREAD-N, numbered across threads.
--	wrk -t2 -c32 -d10s --latency -s verified.lua URL -- ORIGIN TARGET TAG
-- With a fourth argument "direct" it GETs those source pages from
-- ORIGIN itself instead (URL is then ORIGIN): what the source server
-- delivers to wrk, the baseline of the verified path.
-- done() prints "faults=N" (pingback answers that were faults) and
-- "errors=N" (HTTP status not 200), and the first fault it saw.
local threads = {}

function setup(thread)
	table.insert(threads, thread)
	thread:set("id", #threads)
end

function init(args)
	origin, target, tag, direct = args[1], args[2], args[3], args[4]
	if origin == nil or target == nil or tag == nil then
		error("usage: -- ORIGIN TARGET TAG [direct]")
	end
	direct = direct == "direct"
	n, faults, errors = 0, 0, 0
	prefix = "/s/" .. tag .. "-" .. id .. "-"
	wrk.headers["Content-Type"] = "text/xml"
end

function request()
	n = n + 1
	if direct then
		return wrk.format("GET", prefix .. n, nil, nil)
	end
	return wrk.format("POST", nil, nil,
		"<?xml version=\"1.0\"?>\n<methodCall>" ..
		"<methodName>pingback.ping</methodName><params>" ..
		"<param><value><string>" .. origin .. prefix .. n ..
		"</string></value></param>" ..
		"<param><value><string>" .. target ..
		"</string></value></param></params></methodCall>\n")
end

function response(status, headers, body)
	if status ~= 200 then
		errors = errors + 1
	elseif not direct and string.find(body, "faultCode", 1, true) then
		faults = faults + 1
		if sample == nil then
			sample = string.gsub(string.sub(body, 1, 600), "%s+", " ")
		end
	end
end

function done(summary, latency, requests)
	local f, e, s = 0, 0, nil
	for _, t in ipairs(threads) do
		f = f + t:get("faults")
		e = e + t:get("errors")
		s = s or t:get("sample")
	end
	io.write(string.format("faults=%d\nerrors=%d\n", f, e))
	if s then
		io.write("fault_sample=" .. s .. "\n")
	end
end
