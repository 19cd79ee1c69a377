/**
 * Why a request was denied: `Smartstore-Api-AuthResultId` is the number,
 * `Smartstore-Api-AuthResultDesc` the name. 0-5 are Smartstore's own; 6 and 7 are
 * Gatehouse's abuse-resistance reasons (CONTRACT.md section 3).
 */
export enum AuthResult {
  ApiDisabled = 0,
  SslRequired = 1,
  InvalidAuthorizationHeader = 2,
  InvalidCredentials = 3,
  UserUnknown = 4,
  UserDisabled = 5,
  UserLocked = 6,
  ClientBlocked = 7,
}

export const AUTH_RESULT_MESSAGES: Record<AuthResult, string> = {
  [AuthResult.ApiDisabled]: 'The API is disabled.',
  [AuthResult.SslRequired]: 'HTTPS is required.',
  [AuthResult.InvalidAuthorizationHeader]:
    'The Authorization header is missing or invalid; send Basic credentials "public key:secret key".',
  [AuthResult.InvalidCredentials]:
    'The credentials sent in the Authorization header do not match those of the user.',
  [AuthResult.UserUnknown]: 'The user is unknown.',
  [AuthResult.UserDisabled]: "The user is known but the user's access via the API is disabled.",
  [AuthResult.UserLocked]: 'Too many failed attempts for this key; try again later.',
  [AuthResult.ClientBlocked]: 'Too many failed attempts from this address; try again later.',
};
