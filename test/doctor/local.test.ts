import {execFileSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {configForTier, DEFAULT_CONFIG} from '../../src/config/index.js'
import {checkBackup, checkConfigCapacity, checkListenAddress, checkLogLevel, checkNode, checkOsLimits} from '../../src/doctor/local.js'
import {tierByName} from '../../src/sizing/tiers.js'
import {sysctlEntries} from '../../src/tune/linux.js'
import {fakeRoot, procLimits} from '../tune/fake-root.js'

const tmp = () => mkdtempSync(join(tmpdir(), 'mqttctl-doctor-'))

describe('doctor: local checks', () => {
  it('Node.js: 20 passes, 18 fails with the fix', () => {
    expect(checkNode('20.20.2').status).toBe('pass')
    expect(checkNode('18.19.0')).toMatchObject({status: 'fail', fix: 'install Node.js 20 LTS or later'})
    expect(checkNode().detail).toContain(process.versions.node)
  })

  it('configuration: a file sized below the plan fails; no file warns; a big enough file passes', () => {
    expect(checkConfigCapacity(DEFAULT_CONFIG, '/x/broker.json', 50_000)).toMatchObject({status: 'fail', fix: expect.stringContaining('mqttctl plan --devices 50000 --write')})
    expect(checkConfigCapacity(DEFAULT_CONFIG, null, 5_000).status).toBe('warn')
    expect(checkConfigCapacity(configForTier(tierByName('medium')), '/x/broker.json', 50_000)).toMatchObject({status: 'pass', detail: '/x/broker.json is valid; maxConnections 100,000'})
  })

  it('OS limits: too few open files fail; enough files but short sysctls warn; a tuned machine passes; other OSes warn', () => {
    const medium = tierByName('medium')
    expect(checkOsLimits({tier: medium, connections: 50_000, root: fakeRoot({}, procLimits(20_000, 'unlimited'))})).toMatchObject({status: 'fail', detail: 'ulimit -n is 20000: fewer than the 51,024 file descriptors 50,000 connections need'})
    const warn = checkOsLimits({tier: medium, connections: 50_000, root: fakeRoot({}, procLimits(200_000, 'unlimited'))})
    expect(warn.status).toBe('warn')
    expect(warn.detail).toMatch(/kernel settings below the medium tier: net\.ipv4\.ip_local_port_range 32768 60999 \(too narrow/)
    const tuned = Object.fromEntries(sysctlEntries(medium).map((e) => [e.key, e.value]))
    expect(checkOsLimits({tier: medium, connections: 50_000, root: fakeRoot(tuned, procLimits(200_000, 'unlimited'))}).status).toBe('pass')
    expect(checkOsLimits({tier: medium, connections: 50_000, platform: 'darwin'})).toMatchObject({status: 'warn', fix: expect.stringContaining('tune --os macos')})
  })

  it('OS limits: an installed unit\'s LimitNOFILE counts instead of the shell\'s ulimit', () => {
    const root = fakeRoot({}, procLimits(1_024, 'unlimited'))
    mkdirSync(join(root, 'etc/systemd/system'), {recursive: true})
    writeFileSync(join(root, 'etc/systemd/system/mqtt-broker.service'), '[Service]\nLimitNOFILE=200000\n')
    expect(checkOsLimits({tier: tierByName('medium'), connections: 50_000, root}).detail).not.toMatch(/ulimit -n is/)
  })

  it('listen address: every interface passes, loopback warns, a foreign address fails', () => {
    const ifaces = {lo: [{address: '127.0.0.1'}], eth0: [{address: '10.0.0.5'}]} as never
    expect(checkListenAddress(DEFAULT_CONFIG, ifaces)).toMatchObject({status: 'pass', detail: '0.0.0.0:1883 (every interface)'})
    expect(checkListenAddress({...DEFAULT_CONFIG, listeners: [{host: '127.0.0.1', port: 1883}]}, ifaces).status).toBe('warn')
    expect(checkListenAddress({...DEFAULT_CONFIG, listeners: [{host: '10.0.0.5', port: 1883}]}, ifaces).status).toBe('pass')
    expect(checkListenAddress({...DEFAULT_CONFIG, listeners: [{host: '192.168.9.9', port: 1883}]}, ifaces)).toMatchObject({status: 'fail', detail: expect.stringContaining('192.168.9.9 is not an address of this machine')})
  })

  it('log level: debug fails on medium/large, info warns on large, the tier\'s level passes', () => {
    expect(checkLogLevel({...DEFAULT_CONFIG, logLevel: 'debug'}, tierByName('large')).status).toBe('fail')
    expect(checkLogLevel({...DEFAULT_CONFIG, logLevel: 'debug'}, tierByName('small')).status).toBe('warn')
    expect(checkLogLevel({...DEFAULT_CONFIG, logLevel: 'info'}, tierByName('large'))).toMatchObject({status: 'warn', fix: 'set logLevel to warn'})
    expect(checkLogLevel({...DEFAULT_CONFIG, logLevel: 'warn'}, tierByName('large')).status).toBe('pass')
    expect(checkLogLevel({...DEFAULT_CONFIG, logLevel: 'info'}, tierByName('medium')).status).toBe('pass')
  })

  it('backup: none warns; a dated .bak copy passes; a git-committed file passes', () => {
    const dir = tmp()
    const file = join(dir, 'broker.json')
    writeFileSync(file, '{}')
    expect(checkBackup(file)).toMatchObject({status: 'warn', fix: expect.stringContaining(`cp ${file} ${file}.$(date +%F).bak`)})
    expect(checkBackup(null).status).toBe('warn')
    writeFileSync(join(dir, 'broker.json.2025-10-24.bak'), '{}')
    expect(checkBackup(file)).toMatchObject({status: 'pass', detail: 'copy found: broker.json.2025-10-24.bak'})
    const repo = tmp()
    writeFileSync(join(repo, 'broker.json'), '{}')
    const git = (...args: string[]) => execFileSync('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args], {stdio: 'ignore'})
    git('init', '-q')
    git('add', 'broker.json')
    git('commit', '-q', '-m', 'config')
    expect(checkBackup(join(repo, 'broker.json'))).toMatchObject({status: 'pass', detail: 'broker.json is committed in git'})
    writeFileSync(join(repo, 'broker.json'), '{"logLevel": "warn"}')
    expect(checkBackup(join(repo, 'broker.json')).status).toBe('warn')
  })
})
