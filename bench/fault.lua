-- wrk script: the fault path.  pingback.ping whose target is not on
-- the blog, so pingbackd answers fault 33 without fetching anything.
-- One fixed request, sent over and over on keep-alive connections:
--	wrk -t2 -c32 -d10s --latency -s fault.lua http://HOST:PORT/xmlrpc
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/xml"
wrk.body = "<?xml version=\"1.0\"?>\n<methodCall>" ..
	"<methodName>pingback.ping</methodName><params>" ..
	"<param><value><string>http://127.0.0.1:9/bench/source/" ..
	"</string></value></param>" ..
	"<param><value><string>https://elsewhere.example/not/on/this/blog/" ..
	"</string></value></param>" ..
	"</params></methodCall>\n"
