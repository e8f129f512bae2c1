"""HTTP routers, one per resource. Routes parse, authorise, call one domain function, shape."""
