-- The mixed load of scripts/load: what a shop sees, in fixed proportions per 20 requests.
-- Pages for a logged-in customer (the cookie comes in as the script's argument), pages and
-- cart posts from visitors without cookies, consent decisions, logins.
local session_cookie = ""
local mix = {}

function init(args)
    session_cookie = args[1] or ""
    local function add(n, request)
        for _ = 1, n do mix[#mix + 1] = request end
    end
    local form = { ["Content-Type"] = "application/x-www-form-urlencoded" }
    local json = { ["Content-Type"] = "application/json" }
    add(6, wrk.format("GET", "/"))
    add(4, wrk.format("GET", "/account", { ["Cookie"] = session_cookie }))
    add(2, wrk.format("GET", "/privacy", { ["Cookie"] = session_cookie }))
    add(4, wrk.format("POST", "/cart", form, "sku=BC-500&qty=1"))
    add(2, wrk.format("POST", "/consent", json, '{"action":"accept_all"}'))
    add(1, wrk.format("POST", "/consent", form, "action=reject_all&return_to=/"))
    add(1, wrk.format("POST", "/login", form, "email=demo%40example.com&password=demo"))
end

local counter = 0
function request()
    counter = counter + 1
    return mix[(counter % #mix) + 1]
end

-- wrk counts every answer of 400 or more as a status error.
function done(summary)
    local errors = summary.errors
    io.write(string.format("errors: connect %d, read %d, write %d, timeout %d, status %d\n",
        errors.connect, errors.read, errors.write, errors.timeout, errors.status))
end
