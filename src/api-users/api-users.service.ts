import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, QueryFailedError, Repository } from 'typeorm';
import { hashSecret } from '../auth/secret-hash';
import { ChangeFeed } from '../change-feed/change-feed.service';
import { AppConfig } from '../config/app-config';
import { ApiUser, Role } from './api-user.entity';
import { generatePublicKey, generateSecretKey } from './api-keys';
import { CreateApiUserDto } from './dto/create-api-user.dto';
import { RateLimitDto } from './dto/limits.dto';
import { UpdateApiUserDto } from './dto/update-api-user.dto';
import { LastRequestService } from './last-request.service';
import { effectiveLimits, RateLimit, StoredLimits } from './limits';

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
  /** The user's own rate limit; null: RATE_LIMIT_REQUESTS applies; `requests` 0: none. */
  rateLimit: RateLimit | null;
  /** The user's own daily quota; null: DAILY_QUOTA applies; 0: none. */
  dailyQuota: number | null;
  /** What applies to the user's requests (null: not limited). */
  effectiveRateLimit: RateLimit | null;
  effectiveDailyQuota: number | null;
}

/** The answer to a create or a secret rotation: the only time the secret is shown. */
export type ApiUserWithSecret = ApiUserView & { secretKey: string };

/** What authentication reads of a user (and caches: see CredentialsService). */
export interface UserForAuthentication {
  id: string;
  name: string;
  publicKey: string;
  roles: Role[];
  enabled: boolean;
  secretHash: string;
  /** Read with the rest, so that the rate-limit guard needs no query of its own. */
  limits: StoredLimits;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Serialises every change that could leave the API without an enabled admin. */
const ADMIN_LOCK_SQL = `SELECT pg_advisory_xact_lock(hashtext('gatehouse:admins'))`;

@Injectable()
export class ApiUsersService {
  constructor(
    @InjectRepository(ApiUser) private readonly repository: Repository<ApiUser>,
    private readonly lastRequests: LastRequestService,
    private readonly config: AppConfig,
    private readonly changes: ChangeFeed,
  ) {}

  async findForAuthentication(publicKey: string): Promise<UserForAuthentication | null> {
    const user = await this.repository
      .createQueryBuilder('u')
      .select(['u.id', 'u.name', 'u.publicKey', 'u.roles', 'u.enabled'])
      .addSelect(['u.rateLimitRequests', 'u.rateLimitWindowSeconds', 'u.dailyQuota'])
      .addSelect('u.secretHash')
      .where('u.publicKey = :publicKey', { publicKey })
      .getOne();
    if (!user) return null;
    return {
      id: user.id,
      name: user.name,
      publicKey: user.publicKey,
      roles: user.roles,
      enabled: user.enabled,
      secretHash: user.secretHash,
      limits: storedLimits(user),
    };
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
      ...this.limitColumns(dto),
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
    await this.changes.settle();
    return { ...this.toView(await this.findOrFail(this.repository.manager, user.id)), secretKey };
  }

  async update(id: string, dto: UpdateApiUserDto): Promise<ApiUserView> {
    const view = await this.repository.manager.transaction(async (manager) => {
      await manager.query(ADMIN_LOCK_SQL);
      const user = await this.findOrFail(manager, id);
      const after = { enabled: dto.enabled ?? user.enabled, roles: dto.roles ?? user.roles };
      await this.assertAnotherAdminRemains(manager, user, isEnabledAdmin(after));
      const changes = {
        ...(dto.name !== undefined && { name: dto.name }),
        ...(dto.roles !== undefined && { roles: dto.roles }),
        ...(dto.enabled !== undefined && { enabled: dto.enabled }),
        ...this.limitColumns(dto),
      };
      if (Object.keys(changes).length > 0) {
        await manager.update(ApiUser, { id }, changes);
      }
      return this.toView(await this.findOrFail(manager, id));
    });
    await this.changes.settle();
    return view;
  }

  async rotateSecret(id: string): Promise<ApiUserWithSecret> {
    const secretKey = generateSecretKey();
    const result = await this.repository.update(
      { id: this.assertUuid(id) },
      { secretHash: hashSecret(secretKey) },
    );
    if (!result.affected) throw notFound();
    await this.changes.settle();
    return { ...(await this.get(id)), secretKey };
  }

  async remove(id: string): Promise<void> {
    await this.repository.manager.transaction(async (manager) => {
      await manager.query(ADMIN_LOCK_SQL);
      const user = await this.findOrFail(manager, id);
      await this.assertAnotherAdminRemains(manager, user, false);
      await manager.delete(ApiUser, { id });
    });
    await this.changes.settle();
  }

  /** 404 unless a user has this id. */
  async assertExists(id: string): Promise<void> {
    const found = await this.repository.existsBy({ id: this.assertUuid(id) });
    if (!found) throw notFound();
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

  /** The columns for the limits a create or update names (none when it names none). */
  private limitColumns(dto: {
    rateLimit?: RateLimitDto | null;
    dailyQuota?: number | null;
  }): Partial<StoredLimits> {
    const columns: Partial<StoredLimits> = {};
    if (dto.rateLimit !== undefined) {
      columns.rateLimitRequests = dto.rateLimit?.requests ?? null;
      columns.rateLimitWindowSeconds = dto.rateLimit
        ? (dto.rateLimit.windowSeconds ?? this.config.rateLimit.windowSeconds)
        : null;
    }
    if (dto.dailyQuota !== undefined) columns.dailyQuota = dto.dailyQuota;
    return columns;
  }

  private toView(user: ApiUser): ApiUserView {
    const pending = this.lastRequests.pendingFor(user.id);
    const stored = user.lastRequestAt;
    const limits = storedLimits(user);
    const effective = effectiveLimits(limits, this.config);
    return {
      id: user.id,
      name: user.name,
      publicKey: user.publicKey,
      roles: user.roles,
      enabled: user.enabled,
      createdAt: user.createdAt,
      updatedAt: user.updatedAt,
      lastRequestAt: pending && (!stored || pending > stored) ? pending : stored,
      rateLimit:
        limits.rateLimitRequests === null
          ? null
          : {
              requests: limits.rateLimitRequests,
              windowSeconds: limits.rateLimitWindowSeconds ?? this.config.rateLimit.windowSeconds,
            },
      dailyQuota: limits.dailyQuota,
      effectiveRateLimit: effective.rate,
      effectiveDailyQuota: effective.dailyQuota,
    };
  }
}

function storedLimits(user: StoredLimits): StoredLimits {
  return {
    rateLimitRequests: user.rateLimitRequests ?? null,
    rateLimitWindowSeconds: user.rateLimitWindowSeconds ?? null,
    dailyQuota: user.dailyQuota ?? null,
  };
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
