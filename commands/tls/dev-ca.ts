import {Flags} from '@oclif/core'
import {BaseCommand} from '../../src/cli/base-command.js'
import {table} from '../../src/cli/render.js'
import {DAYS, type DevCaResult, makeDevCa} from '../../src/tls/dev-ca.js'

export type {DevCaResult}

export default class TlsDevCa extends BaseCommand {
  static summary = 'Make a development CA and server certificate for local TLS and wss:// (NOT for production)'

  static description = `Writes ca.pem, ca.key, server.pem and server.key (keys mode 0600) with the openssl tool. The server certificate names localhost, 127.0.0.1 and ::1, plus every --host.
Everything is labelled NOT FOR PRODUCTION and expires after ${DAYS} days. Clients trust ca.pem (mosquitto_pub --cafile, MQTT.js ca).
Exit codes: 0 written, 1 openssl failed or the directory is not writable, 2 bad flag or files already there (use --force).`

  static examples = [
    '<%= config.bin %> tls dev-ca',
    '<%= config.bin %> tls dev-ca --out ./certs --host broker.lan --host 192.168.1.20',
    '<%= config.bin %> start --tls-cert dev-ca/server.pem --tls-key dev-ca/server.key',
  ]

  static enableJsonFlag = true

  static flags = {
    out: Flags.string({char: 'o', helpValue: 'DIR', default: 'dev-ca', description: 'directory to write the files to'}),
    host: Flags.string({helpValue: 'NAME', multiple: true, description: 'another host name or IP address for the server certificate (repeatable)'}),
    force: Flags.boolean({description: 'replace the files of an earlier development CA in that directory'}),
  }

  async run(): Promise<DevCaResult> {
    const {flags} = await this.parse(TlsDevCa)
    const result = await makeDevCa({dir: flags.out, hosts: flags.host, force: flags.force})
    if (this.jsonEnabled()) return result
    this.log(`development CA written (NOT FOR PRODUCTION, expires in ${result.days} days):`)
    this.log(
      table(
        [
          ['CA certificate', result.caCert],
          ['CA key', `${result.caKey} (keep it private)`],
          ['server cert', result.cert],
          ['server key', result.key],
          ['names', result.names.join(', ')],
        ],
        {indent: 2},
      ),
    )
    this.log('use it:')
    this.log(`  ${this.config.bin} start --tls-cert ${result.cert} --tls-key ${result.key}`)
    this.log(`  mosquitto_sub --cafile ${result.caCert} -h localhost -p 8883 -t '#' -v`)
    return result
  }
}
