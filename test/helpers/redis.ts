export { freePort, startRedisServer as startRedis, type LocalRedis as TestRedis } from '@obsq/devstack';
