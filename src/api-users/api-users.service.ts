import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, QueryFailedError, Repository } from 'typeorm';
import { hashSecret } from '../auth/secret-hash';
import { ApiUser, Role } from './api-user.entity';
import { generatePublicKey, generateSecretKey } from './api-keys';
import { CreateApiUserDto } from './dto/create-api-user.dto';
import { UpdateApiUserDto } from './dto/update-api-user.dto';
import { LastRequestService } from './last-request.service';

/** An API user as the admin API shows it: everything but the secret. */
export interface ApiUserView {
  id: string;
  name: string;
  publicKey: string;
  roles: Role[];
  enabled: boolean;
  createdAt: Date;
  updatedAt: Date;
  lastRequestAt: Date | null;
}

/** The answer to a create or a secret rotation: the only time the secret is shown. */
export type ApiUserWithSecret = ApiUserView & { secretKey: string };

export type UserForAuthentication = Pick<
  ApiUser,
  'id' | 'name' | 'publicKey' | 'roles' | 'enabled' | 'secretHash'
>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Serialises every change that could leave the API without an enabled admin. */
const ADMIN_LOCK_SQL = `SELECT pg_advisory_xact_lock(hashtext('gatehouse:admins'))`;

@Injectable()
export class ApiUsersService {
  constructor(
    @InjectRepository(ApiUser) private readonly repository: Repository<ApiUser>,
    private readonly lastRequests: LastRequestService,
  ) {}

  findForAuthentication(publicKey: string): Promise<UserForAuthentication | null> {
    return this.repository
      .createQueryBuilder('u')
      .select(['u.id', 'u.name', 'u.publicKey', 'u.roles', 'u.enabled'])
      .addSelect('u.secretHash')
      .where('u.publicKey = :publicKey', { publicKey })
      .getOne();
  }

  async list(): Promise<ApiUserView[]> {
    const users = await this.repository.find({ order: { createdAt: 'ASC', id: 'ASC' } });
    return users.map((u) => this.toView(u));
  }

  async get(id: string): Promise<ApiUserView> {
    return this.toView(await this.findOrFail(this.repository.manager, id));
  }

  async create(dto: CreateApiUserDto): Promise<ApiUserWithSecret> {
    const secretKey = dto.secretKey ?? generateSecretKey();
    const user = this.repository.create({
      name: dto.name,
      publicKey: dto.publicKey ?? generatePublicKey(),
      secretHash: hashSecret(secretKey),
      roles: dto.roles ?? ['read'],
      enabled: true,
    });
    try {
      await this.repository.insert(user);
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new ConflictException({
          code: 'DuplicatePublicKey',
          message: 'An API user with this public key already exists.',
        });
      }
      throw error;
    }
    return { ...this.toView(await this.findOrFail(this.repository.manager, user.id)), secretKey };
  }

  async update(id: string, dto: UpdateApiUserDto): Promise<ApiUserView> {
    return this.repository.manager.transaction(async (manager) => {
      await manager.query(ADMIN_LOCK_SQL);
      const user = await this.findOrFail(manager, id);
      const after = { enabled: dto.enabled ?? user.enabled, roles: dto.roles ?? user.roles };
      await this.assertAnotherAdminRemains(manager, user, isEnabledAdmin(after));
      if (dto.name !== undefined || dto.roles !== undefined || dto.enabled !== undefined) {
        await manager.update(ApiUser, { id }, { ...dto });
      }
      return this.toView(await this.findOrFail(manager, id));
    });
  }

  async rotateSecret(id: string): Promise<ApiUserWithSecret> {
    const secretKey = generateSecretKey();
    const result = await this.repository.update(
      { id: this.assertUuid(id) },
      { secretHash: hashSecret(secretKey) },
    );
    if (!result.affected) throw notFound();
    return { ...(await this.get(id)), secretKey };
  }

  async remove(id: string): Promise<void> {
    await this.repository.manager.transaction(async (manager) => {
      await manager.query(ADMIN_LOCK_SQL);
      const user = await this.findOrFail(manager, id);
      await this.assertAnotherAdminRemains(manager, user, false);
      await manager.delete(ApiUser, { id });
    });
  }

  /**
   * Creates the first admin when the database has no enabled admin: with the given keys, or
   * with generated ones (returned so that the caller can show them once).
   */
  async ensureBootstrapAdmin(keys?: {
    publicKey: string;
    secretKey: string;
  }): Promise<{ publicKey: string; secretKey: string; generated: boolean } | undefined> {
    return this.repository.manager.transaction(async (manager) => {
      await manager.query(ADMIN_LOCK_SQL);
      if ((await this.countEnabledAdmins(manager)) > 0) return undefined;
      const publicKey = keys?.publicKey ?? generatePublicKey();
      const secretKey = keys?.secretKey ?? generateSecretKey();
      await manager.insert(ApiUser, {
        name: 'Bootstrap admin',
        publicKey,
        secretHash: hashSecret(secretKey),
        roles: ['admin', 'read', 'write'],
        enabled: true,
      });
      return { publicKey, secretKey, generated: keys === undefined };
    });
  }

  private async assertAnotherAdminRemains(
    manager: EntityManager,
    user: ApiUser,
    staysEnabledAdmin: boolean,
  ): Promise<void> {
    if (!isEnabledAdmin(user) || staysEnabledAdmin) return;
    if ((await this.countEnabledAdmins(manager)) <= 1) {
      throw new ConflictException({
        code: 'LastAdmin',
        message: 'This is the last enabled admin; create or enable another admin first.',
      });
    }
  }

  private countEnabledAdmins(manager: EntityManager): Promise<number> {
    return manager
      .createQueryBuilder(ApiUser, 'u')
      .where('u.enabled = true')
      .andWhere(`'admin' = ANY(u.roles)`)
      .getCount();
  }

  private async findOrFail(manager: EntityManager, id: string): Promise<ApiUser> {
    const user = await manager.findOneBy(ApiUser, { id: this.assertUuid(id) });
    if (!user) throw notFound();
    return user;
  }

  /** A malformed id cannot name a user: 404, without asking the database. */
  private assertUuid(id: string): string {
    if (!UUID.test(id)) throw notFound();
    return id;
  }

  private toView(user: ApiUser): ApiUserView {
    const pending = this.lastRequests.pendingFor(user.id);
    const stored = user.lastRequestAt;
    return {
      id: user.id,
      name: user.name,
      publicKey: user.publicKey,
      roles: user.roles,
      enabled: user.enabled,
      createdAt: user.createdAt,
      updatedAt: user.updatedAt,
      lastRequestAt: pending && (!stored || pending > stored) ? pending : stored,
    };
  }
}

function isEnabledAdmin(user: { enabled: boolean; roles: Role[] }): boolean {
  return user.enabled && user.roles.includes('admin');
}

function isUniqueViolation(error: unknown): boolean {
  return (
    error instanceof QueryFailedError &&
    (error.driverError as { code?: string } | undefined)?.code === '23505'
  );
}

function notFound(): NotFoundException {
  return new NotFoundException({ code: 'NotFound', message: 'No API user has this id.' });
}
