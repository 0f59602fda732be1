// CommonJS entry for Node: node.js has no top-level await, so Node (>= 20.19) can require it.
module.exports = require('./node.js');
