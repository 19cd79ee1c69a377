import { ApiUsersService, UserForAuthentication } from '../api-users/api-users.service';
import { LastRequestService } from '../api-users/last-request.service';
import { DatabaseUnavailableException } from '../database/database-unavailable.exception';
import { AuthDeniedException } from './auth-denied.exception';
import { AuthResult } from './auth-result';
import { CredentialsService } from './credentials.service';
import { hashSecret } from './secret-hash';
import { SecretHashService } from './secret-hash.service';

const SECRET = 'the-right-secret-0123456789';
const enabledUser: UserForAuthentication = {
  id: '6f1c2b1e-0000-4000-8000-000000000001',
  name: 'connector',
  publicKey: 'known-public-key',
  roles: ['read'],
  enabled: true,
  secretHash: hashSecret(SECRET),
};

function setUp(found: UserForAuthentication | null | Error) {
  const apiUsers = {
    findForAuthentication: () =>
      found instanceof Error ? Promise.reject(found) : Promise.resolve(found),
  } as unknown as ApiUsersService;
  const touched: string[] = [];
  const lastRequests = { touch: (id: string) => touched.push(id) } as unknown as LastRequestService;
  const secrets = new SecretHashService();
  const verifications: (string | undefined)[] = [];
  const verify = secrets.verify.bind(secrets);
  secrets.verify = (secret, stored) => {
    verifications.push(stored);
    return verify(secret, stored);
  };
  return {
    service: new CredentialsService(apiUsers, lastRequests, secrets),
    verifications,
    touched,
  };
}

async function reasonOf(promise: Promise<unknown>): Promise<AuthResult> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof AuthDeniedException))
    throw new Error(`expected a denial, got ${String(error)}`);
  return error.reason;
}

describe('CredentialsService', () => {
  it('returns the user without its secret hash and records the request', async () => {
    const { service, touched } = setUp(enabledUser);
    await expect(service.verify('known-public-key', SECRET)).resolves.toEqual({
      id: enabledUser.id,
      name: 'connector',
      publicKey: 'known-public-key',
      roles: ['read'],
    });
    expect(touched).toEqual([enabledUser.id]);
  });

  it('denies in the contract order: unknown (4), disabled (5), wrong secret (3)', async () => {
    expect(await reasonOf(setUp(null).service.verify('nobody', SECRET))).toBe(
      AuthResult.UserUnknown,
    );
    const disabled = { ...enabledUser, enabled: false };
    expect(await reasonOf(setUp(disabled).service.verify('k', 'wrong-secret-000000'))).toBe(
      AuthResult.UserDisabled,
    );
    expect(await reasonOf(setUp(enabledUser).service.verify('k', 'wrong-secret-000000'))).toBe(
      AuthResult.InvalidCredentials,
    );
  });

  it('verifies exactly one secret for every outcome, so that answers take the same work', async () => {
    const outcomes = [null, { ...enabledUser, enabled: false }, enabledUser];
    for (const found of outcomes) {
      const { service, verifications, touched } = setUp(found);
      await service.verify('k', 'wrong-secret-000000').catch(() => undefined);
      expect(verifications).toHaveLength(1);
      expect(touched).toEqual([]);
    }
  });

  it('turns a failing lookup into a 503, never a credential failure', async () => {
    const { service } = setUp(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
    await expect(service.verify('k', SECRET)).rejects.toBeInstanceOf(DatabaseUnavailableException);
  });
});
