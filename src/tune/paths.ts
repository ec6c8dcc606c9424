/** Where tune's templates live: under the package root (src/paths.ts). */
import {join} from 'node:path'
import {packageRoot} from '../paths.js'

export {packageRoot} from '../paths.js'

/** <package root>/templates: the OS script and unit templates tune and build render. */
export function templatesDir(): string {
  return join(packageRoot(), 'templates')
}
