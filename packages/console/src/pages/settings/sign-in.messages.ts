import { messages } from '../../i18n/index.js';

export const s = messages({
  en: {
    policyTitle: 'Sign-in policy',
    policyIntro:
      'What everyone acting in this organisation must sign in with. Sessions that fall short lose access to the organisation at once and are told what to add; tokens are not affected.',
    policyLegend: 'Require',
    any: 'Any sign-in: a password is enough',
    'second-factor': 'A second factor: authenticator app, passkey or single sign-on',
    passkey: 'A passkey',
    savePolicy: 'Save policy',
    policySaved: 'Sign-in policy saved.',
    ssoTitle: 'Single sign-on (OpenID Connect)',
    ssoIntro:
      'People of this organisation sign in at your identity provider; its groups decide their roles here at every sign-in.',
    ssoOff: 'Single sign-on is not set up.',
    ssoOn: 'Single sign-on is on.',
    issuer: 'Issuer',
    issuerHint: 'The https address of your OpenID provider.',
    clientId: 'Client ID',
    clientSecret: 'Client secret',
    secretHintNew: 'From your identity provider. It is stored sealed and never shown again.',
    secretHintKeep: 'A secret is stored (never shown). Leave empty to keep it; type a new one to replace it.',
    groupsClaim: 'Groups claim',
    groupsClaimHint: 'The claim of the ID token that lists the groups; usually "groups".',
    groupRoles: 'Groups and their roles',
    groupRolesHint:
      'One group per line: the group name, a colon, then roles separated by commas. Example: iot-admins: admin',
    groupRolesInvalid: (line: string) =>
      `This line is not "group: role, role": ${line}. Roles are admin, operator, release-manager, security, auditor.`,
    groupRolesEmpty: 'Map at least one group to roles; people in no mapped group are refused.',
    signInUrl: 'Sign-in address for your people',
    redirectUri: 'Redirect URI to register at the provider',
    saveSso: 'Save single sign-on',
    ssoSaved: 'Single sign-on saved. The provider answered.',
    turnOff: 'Turn single sign-on off',
    turnOffQuestion: 'Turn single sign-on off? People keep their accounts and sign in otherwise.',
    ssoTurnedOff: 'Single sign-on is off.',
  },
  de: {
    policyTitle: 'Anmelderichtlinie',
    policyIntro:
      'Womit sich alle anmelden müssen, die in dieser Organisation handeln. Sitzungen, die nicht genügen, verlieren sofort den Zugang zur Organisation und erfahren, was fehlt; Tokens sind nicht betroffen.',
    policyLegend: 'Verlangen',
    any: 'Jede Anmeldung: ein Passwort genügt',
    'second-factor': 'Einen zweiten Faktor: Authenticator-App, Passkey oder Single Sign-on',
    passkey: 'Einen Passkey',
    savePolicy: 'Richtlinie speichern',
    policySaved: 'Anmelderichtlinie gespeichert.',
    ssoTitle: 'Single Sign-on (OpenID Connect)',
    ssoIntro:
      'Personen dieser Organisation melden sich bei Ihrem Identitätsanbieter an; seine Gruppen bestimmen bei jeder Anmeldung ihre Rollen hier.',
    ssoOff: 'Single Sign-on ist nicht eingerichtet.',
    ssoOn: 'Single Sign-on ist eingeschaltet.',
    issuer: 'Aussteller (Issuer)',
    issuerHint: 'Die https-Adresse Ihres OpenID-Anbieters.',
    clientId: 'Client-ID',
    clientSecret: 'Client-Geheimnis',
    secretHintNew: 'Von Ihrem Identitätsanbieter. Es wird versiegelt gespeichert und nie wieder angezeigt.',
    secretHintKeep:
      'Ein Geheimnis ist gespeichert (nie angezeigt). Leer lassen, um es zu behalten; ein neues eingeben, um es zu ersetzen.',
    groupsClaim: 'Gruppen-Claim',
    groupsClaimHint: 'Der Claim des ID-Tokens mit den Gruppen; meist „groups“.',
    groupRoles: 'Gruppen und ihre Rollen',
    groupRolesHint:
      'Eine Gruppe pro Zeile: Gruppenname, Doppelpunkt, dann Rollen durch Kommas getrennt. Beispiel: iot-admins: admin',
    groupRolesInvalid: (line: string) =>
      `Diese Zeile hat nicht die Form „Gruppe: Rolle, Rolle“: ${line}. Rollen sind admin, operator, release-manager, security, auditor.`,
    groupRolesEmpty:
      'Ordnen Sie mindestens einer Gruppe Rollen zu; Personen in keiner zugeordneten Gruppe werden abgewiesen.',
    signInUrl: 'Anmeldeadresse für Ihre Personen',
    redirectUri: 'Beim Anbieter zu registrierende Redirect-URI',
    saveSso: 'Single Sign-on speichern',
    ssoSaved: 'Single Sign-on gespeichert. Der Anbieter hat geantwortet.',
    turnOff: 'Single Sign-on ausschalten',
    turnOffQuestion: 'Single Sign-on ausschalten? Personen behalten ihre Konten und melden sich anders an.',
    ssoTurnedOff: 'Single Sign-on ist ausgeschaltet.',
  },
});
